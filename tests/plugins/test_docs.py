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
