# Sésame: `make run` serves the demo broker, `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SYSTEM_PACKAGES := libldap2-dev libsasl2-dev slapd ldap-utils redis-server chromium xmlsec1 libxmlsec1-dev pkg-config wrk
PO := $(wildcard broker/translations*/*/LC_MESSAGES/messages.po)
MO := $(PO:.po=.mo)
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test bench system venv translations clean migration

run: venv translations
	@bash scripts/run-demo.sh $(HOST) $(PORT)

test: venv translations
	$(VENV)/bin/pytest -q -p no:cacheprovider -n 2 --dist loadgroup

bench: venv translations
	$(PY) -m pip install -q -e '.[bench]'
	$(PY) -m bench.run

system:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "installing system packages:$$missing"; \
	    export DEBIAN_FRONTEND=noninteractive; apt-get update -q >/dev/null && apt-get install -y -q $$missing >/dev/null || exit 1; \
	  else \
	    echo "Sésame needs these system packages. Install them, then run make again:"; \
	    echo "  sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi

venv: system $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	[ ! -f examples/sesame-connector-csv/pyproject.toml ] || $(PY) -m pip install -q examples/sesame-connector-csv
	touch $@

translations: $(MO)

%.mo: %.po | venv
	$(VENV)/bin/pybabel -q compile -i $< -o $@

migration: venv
	$(PY) scripts/new_migration.py "$(MSG)"

clean:
	rm -rf $(VENV) instance .pytest_cache
