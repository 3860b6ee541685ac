"""Fixtures of the secret rotation tests: the ``broker`` command on a given database and key list."""

from __future__ import annotations

import os

import pytest


@pytest.fixture
def broker_cli_at(tmp_path, monkeypatch):
    """Run ``broker ARGS`` in-process on ``database`` with ``BROKER_SECRET_KEYS=keys``: (exit code, output)."""
    from click.testing import CliRunner

    import broker.cli as cli_module
    from broker.cli import admin, instance_secrets, system  # noqa: F401  (registers the commands)
    from fixtures.broker import CliResult

    def run(database, keys: str, *args: str) -> CliResult:
        with monkeypatch.context() as mp:
            for name in list(os.environ):
                if name.startswith("BROKER_") and not name.startswith(("BROKER_TEST_", "BROKER_BENCH_")):
                    mp.delenv(name)
            url = database if "://" in str(database) else f"sqlite:///{database}"
            for key, value in {"BROKER_SECRET_KEYS": keys, "BROKER_DATABASE_URL": url,
                               "BROKER_INSTANCE_PATH": str(tmp_path / "instance"), "BROKER_LOG_JSON": "true"}.items():
                mp.setenv(key, value)
            cli_module._APP = None
            result = CliRunner().invoke(cli_module.cli, list(args), catch_exceptions=False)
            if cli_module._APP is not None:
                cli_module._APP.extensions["broker"].close()
                cli_module._APP = None
        return CliResult(result)

    return run
