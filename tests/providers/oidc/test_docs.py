"""The registration example of docs/oidc.md runs as written."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

DOC = Path(__file__).resolve().parents[3] / "docs" / "oidc.md"


def doc_commands(text: str, prefix: str) -> list[list[str]]:
    """``$ broker …`` commands of the doc's console blocks (with their continuation lines)."""
    joined = re.sub(r"\\\n\s*", " ", text)
    return [shlex.split(line[2:])[1:] for line in joined.splitlines() if line.startswith(f"$ broker {prefix}")]


def test_the_documented_registration_works(broker_cli):
    for slug in ("calvados", "caen-la-mer"):
        assert broker_cli("networks", "add", slug, "--name", slug).exit_code == 0
    commands = doc_commands(DOC.read_text(encoding="utf-8"), "suppliers add-oidc")
    assert commands
    for args in commands:
        result = broker_cli(*args)
        assert result.exit_code == 0, result.output
        assert "client_id: cafeyn." in result.stdout and "client_secret: " in result.stdout
