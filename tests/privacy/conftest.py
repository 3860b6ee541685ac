"""Privacy fixtures: the demo network built once per session and copied for each test."""

from __future__ import annotations

import shutil

import pytest

from stats import statskit


@pytest.fixture(scope="session")
def privacy_template(tmp_path_factory, migrated_sqlite_template):
    path = tmp_path_factory.mktemp("privacy-template") / "broker.db"
    shutil.copy(migrated_sqlite_template, path)
    statskit.build_demo(path)
    return path


@pytest.fixture
def privacy_app(make_app, privacy_template, tmp_path):
    return statskit.app_from(make_app, privacy_template, tmp_path)


@pytest.fixture
def privacy_cli(broker_cli, privacy_template, tmp_path, monkeypatch):
    """``broker`` on a copy of the demo network."""
    return statskit.cli_on(broker_cli, privacy_template, tmp_path, monkeypatch)
