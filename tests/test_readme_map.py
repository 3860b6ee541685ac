"""README's "What is where" names every top-level module and package of the broker, so a newcomer finds each one."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _mapped() -> set[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text.split("## What is where", 1)[1].split("\n## ", 1)[0]
    return {path.rstrip("/").rstrip("*") for path in re.findall(r"`(broker/[^`]+)`", table)}


def test_every_top_level_module_and_package_is_in_whats_where():
    mapped = _mapped()
    broker = ROOT / "broker"
    names = [p for p in broker.iterdir() if not p.name.startswith(("_", ".")) and (p.is_dir() or p.suffix == ".py")]
    missing = []
    for path in names:
        rel = f"broker/{path.name}"
        prefix_match = any(rel.startswith(m) for m in mapped if m.endswith("translations"))
        if rel not in mapped and not prefix_match:
            missing.append(rel)
    assert not missing, f"README's 'What is where' does not mention: {', '.join(sorted(missing))}"
