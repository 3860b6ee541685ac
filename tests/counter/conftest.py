"""COUNTER fixtures: a SUSHI server over real HTTP (the demo network: ``stats_app`` and co., tests/fixtures/stats.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from sushi_server import SushiServer  # noqa: E402


@pytest.fixture(scope="session")
def sushi_session():
    server = SushiServer().start()
    yield server
    server.stop()


@pytest.fixture
def sushi(sushi_session):
    sushi_session.reset()
    yield sushi_session
    sushi_session.reset()
