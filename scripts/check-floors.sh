#!/usr/bin/env bash
# Check the dependency floors: install the LOWEST version of every package that
# pyproject.toml names (runtime, test and demo lists; what they pull in is
# resolved normally), check that each one really landed on its declared floor,
# then import the app and run a smoke selection of the tests with them.
#
#   scripts/check-floors.sh [pytest args…]      (make floors)
#
# Needs uv (UV=path, default .venv/bin/uv; `make floors` installs it), the
# system packages of `make system`, the network to the package index, and
# compiled translations. The scratch venv lives in a temporary folder and is
# removed at the end (FLOORS_VENV=path keeps it there instead).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
UV="${UV:-$ROOT/.venv/bin/uv}"
PYTHON="${PYTHON:-python3}"
WORKERS="${FLOORS_WORKERS:-2}"
SMOKE=(tests/test_config.py tests/web tests/providers/oidc tests/providers/saml tests/providers/cas tests/db tests/domain)

if [ ! -x "$UV" ]; then
  echo "uv not found at $UV (make floors installs it)" >&2
  exit 2
fi
if [ -n "${FLOORS_VENV:-}" ]; then
  venv=$FLOORS_VENV
else
  scratch=$(mktemp -d "${TMPDIR:-/tmp}/sesame-floors.XXXXXX")
  trap 'rm -rf "$scratch"' EXIT
  venv=$scratch/venv
fi

echo "floors: creating $venv"
"$UV" venv --quiet --python "$(command -v "$PYTHON")" "$venv"
"$UV" pip install --quiet --python "$venv/bin/python" --resolution lowest-direct -e "$ROOT[test,demo]"

echo "floors: every declared package at its floor?"
"$venv/bin/python" - <<'PY'
import sys
from importlib.metadata import PackageNotFoundError, requires, version

from packaging.requirements import Requirement
from packaging.version import Version

wrong = []
for line in requires("sesame-broker") or []:
    req = Requirement(line)
    if req.marker and not any(req.marker.evaluate({"extra": e}) for e in ("", "test", "demo")):
        continue
    floors = [s.version for s in req.specifier if s.operator == ">="]
    if not floors:
        wrong.append(f"{req.name}: no floor declared")
        continue
    try:
        got = version(req.name)
    except PackageNotFoundError:
        wrong.append(f"{req.name}: not installed")
        continue
    floor = max(floors, key=Version)
    mark = "ok" if Version(got) == Version(floor) else "ABOVE FLOOR"
    print(f"  {req.name:<24} floor {floor:<10} installed {got:<10} {mark}")
    if Version(got) != Version(floor):
        wrong.append(f"{req.name}: declared >={floor} but the lowest installable with the others is {got}")
if wrong:
    print("floors: these floors cannot be installed as declared:", *wrong, sep="\n  ", file=sys.stderr)
    sys.exit(1)
PY

echo "floors: importing the app"
PYTHONPATH=$ROOT "$venv/bin/python" -c "import broker.app, broker.cli, broker.providers.oidc.server, broker.providers.saml, broker.providers.cas; broker.app.create_app"

echo "floors: smoke tests (${SMOKE[*]})"
PYTHONPATH=$ROOT "$venv/bin/python" -m pytest -p no:cacheprovider -q -x -n "$WORKERS" --dist loadgroup "${SMOKE[@]}" "$@"
echo "floors: all floors pass"
