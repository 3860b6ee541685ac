"""Privacy fixtures: the demo network built once per session and copied for each test."""

from __future__ import annotations

import pytest

from fixtures import stats as statskit


@pytest.fixture(scope="session")
def privacy_template(demo_db):
    return demo_db(sip2="offline")


@pytest.fixture
def privacy_app(make_app, privacy_template, tmp_path):
    return statskit.app_from(make_app, privacy_template, tmp_path)


@pytest.fixture
def privacy_cli(broker_cli, privacy_template, tmp_path, monkeypatch):
    """``broker`` on a copy of the demo network."""
    return statskit.cli_on(broker_cli, privacy_template, tmp_path, monkeypatch)
