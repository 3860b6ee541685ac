"""pyproject.toml names what the code imports, and nothing it does not; the lock pins all of it, hashed."""

from __future__ import annotations

import ast
import functools
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
RUNTIME = [Requirement(r) for r in PROJECT["dependencies"]]
EXTRAS = {name: [Requirement(r) for r in reqs] for name, reqs in PROJECT["optional-dependencies"].items()}
FIRST_PARTY = {"broker", "connectors"}
# Used by name, never imported: the production server and SQLAlchemy's PostgreSQL driver.
USED_WITHOUT_IMPORT = {"gunicorn", "psycopg"}


def _names(reqs: list[Requirement]) -> set[str]:
    return {canonicalize_name(r.name) for r in reqs}


def _imports(folder: Path) -> dict[str, set[str]]:
    """Top-level third-party modules imported anywhere under folder, with the files that import each."""
    found: dict[str, set[str]] = {}
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top not in sys.stdlib_module_names and top not in FIRST_PARTY:
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


@functools.cache
def _installed() -> dict[str, list[str]]:
    return packages_distributions()


def _distributions(module: str) -> set[str]:
    return {canonicalize_name(d) for d in _installed().get(module, [])}


def _code_imports() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for folder in ("broker", "connectors"):
        for module, files in _imports(ROOT / folder).items():
            found.setdefault(module, set()).update(files)
    return found


def _allowed(files: set[str]) -> set[str]:
    """Runtime packages everywhere; the demo's in modules named for the demo; pytest in the connector kit."""
    allowed = _names(RUNTIME)
    if all("demo" in f for f in files):
        allowed |= _names(EXTRAS["demo"])
    if all(f.startswith("broker/testing/") for f in files):  # runs under the connector author's pytest
        allowed |= _names(EXTRAS["test"])
    return allowed


def test_every_imported_package_is_declared():
    missing = []
    for module, files in sorted(_code_imports().items()):
        dists = _distributions(module)
        assert dists, f"{module} (imported by {sorted(files)}) is not installed"
        if not dists & _allowed(files):
            missing.append(f"{module} ({'/'.join(sorted(dists))}) imported by {sorted(files)}")
    assert missing == [], "imported but not declared in pyproject.toml's dependencies"


def test_every_runtime_dependency_is_used():
    imported = set()
    for module in _code_imports():
        imported |= _distributions(module)
    unused = sorted(_names(RUNTIME) - imported - USED_WITHOUT_IMPORT)
    assert unused == [], "declared in pyproject.toml's dependencies but imported by nothing"


def test_every_dependency_has_a_floor():
    for req in RUNTIME + [r for reqs in EXTRAS.values() for r in reqs]:
        assert any(s.operator == ">=" for s in req.specifier), f"{req} has no floor"


def _lock() -> dict[str, tuple[str, list[str]]]:
    text = (ROOT / "requirements/lock.txt").read_text()
    pins = {}
    for entry in re.split(r"\n(?=[A-Za-z0-9])", text):
        first = entry.split("\n", 1)[0]
        if first.startswith("#") or not first.strip():
            continue
        found = re.match(r"([A-Za-z0-9._-]+)==([^\s;\\]+)", first)
        assert found, f"not an exact pin in the lock: {first!r}"
        pins[canonicalize_name(found.group(1))] = (found.group(2), re.findall(r"--hash=sha256:[0-9a-f]{64}", entry))
    return pins


def test_the_lock_pins_every_declared_package_within_its_range_with_hashes():
    pins = _lock()
    for name, (version, hashes) in pins.items():
        assert hashes, f"{name}=={version} has no hash in the lock"
    for extra in ("", "test", "demo", "bench"):
        for req in RUNTIME if not extra else EXTRAS[extra]:
            name = canonicalize_name(req.name)
            assert name in pins, f"{req} is not in requirements/lock.txt: run make lock"
            assert req.specifier.contains(Version(pins[name][0]), prereleases=True), (
                f"the lock pins {name}=={pins[name][0]}, outside {req}: run make lock")
    for req in RUNTIME:  # the extras the code relies on (redis[hiredis], psycopg[binary]) are locked too
        for extra in req.extras:
            assert f"{canonicalize_name(req.name)}-{extra}" in pins or extra in pins, f"{req}: {extra} not locked"
