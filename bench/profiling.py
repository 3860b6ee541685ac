"""Profile Sésame's workers under load with py-spy and name the hot spots (file:function and share).

``py-spy record --format raw`` writes collapsed stacks (``frame;frame;… count``).
The summary gives, per function, its *inclusive* share (the samples where it
is on the stack) and its *own* share (where it is the innermost frame), with
paths shortened to the project or the installed package.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.+?) \((?P<file>[^:()]+)(?::(?P<line>\d+))?\)$")


def py_spy() -> str | None:
    found = Path(sys.executable).parent / "py-spy"
    return str(found) if found.exists() else shutil.which("py-spy")


def start(pids: list[int], seconds: float, folder: Path, *, idle: bool = False, gil: bool = False) -> list[tuple[subprocess.Popen, Path]]:
    """One ``py-spy record`` per worker pid, in the background."""
    binary = py_spy()
    if binary is None:
        return []
    spies = []
    for pid in pids:
        out = folder / f"spy-{pid}.txt"
        cmd = [binary, "record", "-p", str(pid), "-d", str(int(seconds)), "-r", "200", "-f", "raw", "-o", str(out),
               "--nonblocking"]
        if idle:
            cmd.append("--idle")
        if gil:
            cmd.append("--gil")  # only the samples where Python holds the GIL: CPU, not waiting
        spies.append((subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), out))
    return spies


def short(path: str) -> str:
    for marker in ("/site-packages/", "/lib/python3.11/"):
        if marker in path:
            return path.split(marker, 1)[1]
    for marker in ("/broker/", "/connectors/", "/bench/"):
        if marker in path:
            return marker.strip("/") + "/" + path.split(marker, 1)[1]
    return path


@dataclass(frozen=True)
class Spot:
    where: str
    inclusive: float
    own: float


def summarize(files: list[Path], *, top: int = 25) -> dict:
    """Hot spots over every collapsed-stack file: inclusive and own shares of the samples."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for path in files:
        if not path.exists():
            continue
        for line in path.read_text(errors="replace").splitlines():
            stack, _, count = line.rpartition(" ")
            if not count.isdigit():
                continue
            n = int(count)
            total += n
            frames = []
            for raw in stack.split(";"):
                m = _FRAME.match(raw.strip())
                frames.append(f"{short(m['file'])}:{m['func']}" if m else raw.strip())
            frames = [f for f in frames if not f.startswith("process ") and not f.startswith("thread ")]
            for where in set(frames):
                inclusive[where] += n
            if frames:
                own[frames[-1]] += n
    if not total:
        return {"samples": 0, "inclusive": [], "own": []}

    def rows(counter: Counter[str]) -> list[dict]:
        return [{"where": w, "share": round(c / total, 4)} for w, c in counter.most_common(top)]

    return {"samples": total, "inclusive": rows(inclusive), "own": rows(own)}


def project_spots(summary: dict, *, top: int = 15) -> list[dict]:
    """The inclusive rows that are Sésame's own code (what a change here can fix)."""
    return [r for r in summary.get("inclusive", []) if r["where"].startswith(("broker/", "connectors/"))][:top]
