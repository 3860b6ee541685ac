"""Every hook is documented in docs/plugins.md, and the documented example is a working plugin."""

import re
from pathlib import Path

from broker import hookspecs

DOC = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"


def test_every_hook_has_a_section():
    text = DOC.read_text()
    hooks = [name for name in dir(hookspecs) if name.startswith("broker_")]
    assert hooks
    for name in hooks:
        assert f"## {name}" in text, f"{name} is not documented in docs/plugins.md"


def test_access_check_example_runs(demo_app):
    text = DOC.read_text()
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    namespace: dict = {}
    exec(compile(code, "docs/plugins.md", "exec"), namespace)
    from broker.domain.access import LibraryFacts, PatronFacts, SupplierFacts

    check = namespace["broker_access_check"]
    lib = LibraryFacts("FR-000000000", "x", "calvados", True)
    refusal = check(PatronFacts("u", None), lib, SupplierFacts("cafeyn", frozenset({"calvados"})))
    assert refusal.code == "local_policy"
    assert check(PatronFacts("u", None), lib, SupplierFacts("pnb", frozenset())) is None


def test_patron_logout_example_is_a_valid_hook_implementation():
    import types

    from broker.plugins.manager import call_each, make_plugin_manager

    code = next(b for b in re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S) if "broker_patron_logout" in b)
    plugin = types.ModuleType("documented_logout_plugin")
    exec(compile(code, "docs/plugins.md", "exec"), plugin.__dict__)
    pm = make_plugin_manager(load_entrypoints=False, builtins=(), extra=[plugin])  # checked against the hookspec
    outcomes = call_each(pm, "broker_patron_logout", runtime=None, session={"echo": ["Echo", 3]})
    assert outcomes == [(pm.get_name(plugin), ["Echo"], None)]
