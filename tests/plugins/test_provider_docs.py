"""docs/plugins.md's minimal provider and its contract test class, run as written."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def _documented_contract():
    provider, contract = next(b for b in _blocks() if "ProviderSpec(" in b), next(
        b for b in _blocks() if "ProviderContract)" in b)
    module = types.ModuleType("documented_echo_provider")
    exec(compile(provider, f"{DOC}:provider", "exec"), module.__dict__)  # noqa: S102  (our own documentation)
    sys.modules[module.__name__] = module
    namespace = {**module.__dict__, "my_plugin_module": module, "__name__": __name__}
    exec(compile(contract, f"{DOC}:contract", "exec"), namespace)  # noqa: S102
    return namespace["TestEchoProvider"]


TestDocumentedEchoProvider = _documented_contract()


def test_the_documented_command_is_generated_from_the_settings_model():
    module = sys.modules["documented_echo_provider"]
    group = module.broker_cli_commands()[0]
    command = group.commands["add-echo"]
    options = {o for p in command.params for o in getattr(p, "opts", [])}
    assert {"--endpoint", "--network", "--release", "--json"} <= options
