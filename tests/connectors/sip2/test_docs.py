"""docs/connectors.md stays true: its SIP2 examples validate, every setting and emulator option is documented."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from connectors.sip2.connector import Sip2Settings
from connectors.sip2.emulator import sip2_emulator_command

DOC = Path(__file__).resolve().parents[3] / "docs" / "connectors.md"


def sip2_section() -> str:
    text = DOC.read_text(encoding="utf-8")
    return text[text.index("\n## SIP2") : text.index("\n## LDAP")]


@pytest.mark.parametrize("block", re.findall(r"```toml\n(.*?)```", sip2_section(), re.S))
def test_settings_examples_validate(block: str) -> None:
    Sip2Settings.model_validate(tomllib.loads(block))


def test_every_setting_is_in_the_reference_table() -> None:
    section = sip2_section()
    missing = [name for name in Sip2Settings.model_fields if f"| `{name}` |" not in section]
    assert not missing


def test_every_emulator_option_is_documented() -> None:
    section = sip2_section()
    options = [opt for param in sip2_emulator_command.params for opt in param.opts]
    assert [opt for opt in options if opt not in section] == []


def test_the_lead_sections_are_there() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert "\n## LDAP\n" in text and "\n## Koha REST\n" in text
