"""COUNTER fixtures: a SUSHI server over real HTTP and the demo network (from the statistics tests)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from stats.conftest import db_app, stats_app, stats_cli, stats_template  # noqa: E402,F401  (reused fixtures)
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
