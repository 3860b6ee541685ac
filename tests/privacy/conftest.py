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
    """``broker`` on a copy of the demo network, with the statistics plugin's commands (built-in or not yet)."""
    import broker.cli as cli_module
    from broker.plugins import stats as plugin

    shutil.copy(privacy_template, tmp_path / "cli.db")
    monkeypatch.setenv("BROKER_SECRET_KEY", statskit.SECRET)
    monkeypatch.setenv("BROKER_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("BROKER_PLUGINS_LOAD_ENTRYPOINTS", "false")
    added = []
    for command in plugin.broker_cli_commands():
        if command.name not in cli_module.cli.commands:
            cli_module.cli.add_command(command)
            added.append(command.name)
    yield broker_cli
    for name in added:
        cli_module.cli.commands.pop(name, None)
