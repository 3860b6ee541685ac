# Sésame: `make run` serves the demo broker, `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
LOCK := requirements/lock.txt
# uv resolves the lock (make lock) and the lowest versions (make floors); installing uses pip only.
UV := $(VENV)/bin/uv
UV_SPEC := uv>=0.13,<1
SYSTEM_PACKAGES := libldap2-dev libsasl2-dev slapd ldap-utils redis-server chromium xmlsec1 libxmlsec1-dev pkg-config wrk
PO := $(wildcard broker/translations*/*/LC_MESSAGES/messages.po)
MO := $(PO:.po=.mo)
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test check bench system venv translations clean migration lock floors

run: venv translations
	@bash scripts/run-demo.sh $(HOST) $(PORT)

# The linter and the type checker first (well under a minute), then every test.
test: venv translations check
	$(VENV)/bin/pytest -q -p no:cacheprovider -n 2 --dist loadgroup

check: venv
	$(VENV)/bin/ruff check --quiet
	$(VENV)/bin/mypy

bench: venv translations
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

# Every third-party package comes from the lock, each file checked against its hash;
# then the project and the example plugins under examples/, without their dependencies.
$(STAMP): $(LOCK) pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --require-hashes -r $(LOCK)
	$(PY) -m pip install -q --no-deps -e .
	for p in examples/*/pyproject.toml; do [ ! -f "$$p" ] || $(PY) -m pip install -q --no-deps "$${p%/pyproject.toml}" || exit 1; done
	$(PY) -m pip check
	touch $@

$(UV):
	[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q '$(UV_SPEC)'

# Resolve pyproject.toml's dependencies (runtime, test, demo, bench) again, with hashes: pins that
# still fit are kept; `make lock UPGRADE=1` takes the newest version allowed of everything.
lock: $(UV)
	$(UV) pip compile --quiet --universal --python-version 3.11 --generate-hashes $(if $(UPGRADE),--upgrade) \
	  --extra test --extra demo --extra bench -o $(LOCK) pyproject.toml

# The lowest allowed versions in a scratch venv, then a smoke selection of the tests (network, ~10 minutes).
floors: venv translations $(UV)
	UV=$(UV) PYTHON=$(PYTHON) bash scripts/check-floors.sh

translations: $(MO)

%.mo: %.po | venv
	$(VENV)/bin/pybabel -q compile -i $< -o $@

migration: venv
	$(PY) scripts/new_migration.py "$(MSG)"

clean:
	rm -rf $(VENV) instance .pytest_cache
