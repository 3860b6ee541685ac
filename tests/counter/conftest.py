"""COUNTER fixtures: a SUSHI server over real HTTP (the demo network: ``stats_app`` and co., tests/fixtures/stats.py)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
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


NOW = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)


@pytest.fixture
def cli(stats_cli, sushi, monkeypatch):
    """``broker`` on the demo network on 6 December 2026, cafeyn (5.1) and pnb (5.0) harvested from the test server."""
    import broker.clock
    import broker.services.stats.months

    monkeypatch.setattr(broker.clock, "utcnow", lambda: NOW)
    monkeypatch.setattr(broker.services.stats.months, "utcnow", lambda: NOW)
    monkeypatch.setenv("SUSHI_KEY", sushi.api_key)
    for slug, release in (("cafeyn", "5.1"), ("pnb", "5")):
        r = stats_cli("suppliers", "sushi", slug, "--url", sushi.url(release), "--customer-id", "NET-1",
                      "--requestor-id", sushi.requestor_id, "--api-key-env", "SUSHI_KEY", "--release", release)
        assert r.exit_code == 0, r.output
    return stats_cli
