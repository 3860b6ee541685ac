"""Install the example plugin packages of examples/ into this interpreter's environment, as a user would."""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest


def installed_matches_source(example: Path, distribution: str, package: str) -> bool:
    """True when ``distribution`` is installed and its modules of ``package`` are the ones in ``example``."""
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        return False
    for source in (example / "src" / package).glob("*.py"):
        installed = Path(str(dist.locate_file(f"{package}/{source.name}")))
        if not installed.is_file() or installed.read_bytes() != source.read_bytes():
            return False
    return True


@pytest.fixture(scope="session")
def install_example() -> Callable[[Path, str, str], None]:
    """``install_example(folder, distribution, package)``: pip-install the example when needed."""

    def install(example: Path, distribution: str, package: str) -> None:
        if not installed_matches_source(example, distribution, package):
            command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                       "--no-deps", "--force-reinstall", str(example)]
            if importlib.util.find_spec("wheel") is not None:
                command.append("--no-build-isolation")  # no download needed when setuptools and wheel are here
            result = subprocess.run(command, capture_output=True, text=True, timeout=600)
            assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
            importlib.invalidate_caches()
        assert installed_matches_source(example, distribution, package)

    return install
