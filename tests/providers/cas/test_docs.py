"""The registration example of docs/cas.md runs as written."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

DOC = Path(__file__).resolve().parents[3] / "docs" / "cas.md"


def test_the_documented_registration_works(broker_cli):
    assert broker_cli("networks", "add", "calvados", "--name", "Calvados").exit_code == 0
    text = re.sub(r"\\\n\s*", " ", DOC.read_text(encoding="utf-8"))
    commands = [shlex.split(line[2:])[1:] for line in text.splitlines() if line.startswith("$ broker suppliers add-cas")]
    assert commands
    for args in commands:
        result = broker_cli(*args)
        assert result.exit_code == 0, result.output
        assert "protocol: cas" in result.stdout
