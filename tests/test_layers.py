"""The layers hold: read from the sources' imports (every import statement, also inside functions).

- ``broker/domain`` is plain Python: no web, database, CLI or plugin framework;
- ``broker/services`` imports no web framework and nothing of the web or CLI layers;
- the table modules of ``broker/db`` do not import one another in a cycle;
- the ``local`` connector reaches the broker's CLI and services only through ``broker.connector_kit``;
- the protocols decide access only through ``broker.providers.issuance``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

FRAMEWORKS = {"flask", "flask_babel", "flask_wtf", "werkzeug", "jinja2", "sqlalchemy", "alembic", "click", "pluggy",
              "authlib", "saml2", "redis", "pydantic"}
WEB = {"flask", "flask_babel", "flask_wtf", "werkzeug"}


def module_name(path: Path, root: Path | None = None) -> str:
    parts = list(path.relative_to(root or ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path, root: Path | None = None) -> set[str]:
    """Every module a source file imports, relative imports resolved (``from a import b`` gives a and a.b,
    ``from . import b`` gives b)."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            if node.module:  # "from . import x" imports x, the package is already there
                found.add(origin)
            found.update(f"{origin}.{alias.name}" for alias in node.names if alias.name != "*")
    return found


def sources(folder: str) -> list[Path]:
    found = sorted((ROOT / folder).rglob("*.py"))
    assert found, folder
    return found


def offending(folder: str, forbidden: set[str], prefixes: tuple[str, ...] = (),
              allowed: tuple[str, ...] = ()) -> dict[str, list[str]]:
    """The imports of the folder's files that are one of ``forbidden`` or start with one of ``prefixes``."""
    bad = {}
    for path in sources(folder):
        hits = sorted(m for m in imports(path) if (m.split(".")[0] in forbidden or m.startswith(prefixes))
                      and not m.startswith(allowed))
        if hits:
            bad[str(path.relative_to(ROOT))] = hits
    return bad


def test_the_import_reader_sees_every_kind_of_import(tmp_path):
    source = tmp_path / "pkg" / "sub" / "mod.py"
    source.parent.mkdir(parents=True)
    source.write_text("import flask.json\nfrom . import sibling\nfrom ..other import thing\n"
                      "def f():\n    from werkzeug import exceptions\n")
    assert imports(source, tmp_path) == {"flask.json", "pkg.sub.sibling", "pkg.other", "pkg.other.thing",
                               "werkzeug", "werkzeug.exceptions"}


def test_domain_imports_no_framework():
    found = offending("broker/domain", FRAMEWORKS, ("broker.",), allowed=("broker.domain", "broker.errors"))
    assert found == {}, "broker/domain is plain Python: no framework, nothing of the outer layers"


def test_services_import_no_web_framework_nor_the_web_or_cli_layers():
    # a service returns data, codes and French messages (broker.errors.Translatable); the web layer translates
    assert offending("broker/services", WEB, ("broker.web", "broker.cli")) == {}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of the graph, or None."""
    state: dict[str, int] = {}  # 1: being visited, 2: done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_no_import_cycle_among_the_database_modules():
    modules = {module_name(p): p for p in sorted((ROOT / "broker" / "db").glob("*.py"))}
    assert {"broker.db.models", "broker.db.staff_models", "broker.db.stats_models", "broker.db.base"} <= set(modules)
    graph = {name: {m for m in imports(path) if m in modules and m != name} for name, path in modules.items()}
    assert _cycle(graph) is None


@pytest.mark.parametrize("prefix", ["broker.cli", "broker.services"])
def test_the_local_connector_uses_only_the_connector_kit(prefix):
    assert offending("connectors/local", set(), (prefix,)) == {}


def test_protocols_decide_only_through_the_issuance_step():
    # the access decision and the usage record are broker.providers.issuance's, the same for every protocol
    decision = ("broker.services.access", "broker.web.patron_session.check_access")
    for protocol in ("saml", "oidc", "cas", "link"):
        assert offending(f"broker/providers/{protocol}", set(), decision) == {}, protocol
