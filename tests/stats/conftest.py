"""Statistics fixtures: the demo network built once per session and copied for each test."""

from __future__ import annotations

import pytest

from stats import statskit


@pytest.fixture(scope="session")
def stats_template(tmp_path_factory, migrated_sqlite_template):
    import shutil

    path = tmp_path_factory.mktemp("stats-template") / "broker.db"
    shutil.copy(migrated_sqlite_template, path)
    statskit.build_demo(path)
    return path


@pytest.fixture
def stats_app(make_app, stats_template, tmp_path):
    return statskit.app_from(make_app, stats_template, tmp_path)


@pytest.fixture
def stats_client(stats_app):
    return stats_app.test_client()


@pytest.fixture
def db_app(make_app, database_url, stats_template):
    """The demo network on SQLite and, when a server answers, on PostgreSQL."""
    if database_url.startswith("sqlite"):
        import shutil

        shutil.copy(stats_template, database_url[len("sqlite:///"):])
        return make_app(secret_key=statskit.SECRET, database_url=database_url, log_level="WARNING",
                        plugins_load_entrypoints=False)
    app = make_app(secret_key=statskit.SECRET, database_url=database_url, log_level="WARNING",
                   plugins_load_entrypoints=False)
    statskit.load_demo_into(app)
    return app


@pytest.fixture
def stats_cli(broker_cli, stats_template, tmp_path, monkeypatch):
    """``broker`` on a copy of the demo network."""
    return statskit.cli_on(broker_cli, stats_template, tmp_path, monkeypatch)
