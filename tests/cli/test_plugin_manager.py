"""The ``broker`` command loads the plugins the app loads: the same settings build the same manager."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CAS = "broker.providers.cas.plugin"


def _names(pm) -> set[str]:
    return {name for name, plugin in pm.list_name_plugin() if plugin is not None}  # blocked names hold None


def test_the_cli_leaves_out_the_plugins_the_settings_disable(broker_cli, monkeypatch):
    import broker.cli as cli_module

    monkeypatch.setenv("BROKER_PLUGINS_DISABLED", CAS)
    cli_pm = cli_module.plugin_manager()
    app = cli_module.get_app()
    try:
        assert CAS not in _names(cli_pm) and "broker.providers.saml.plugin" in _names(cli_pm)
        assert _names(cli_pm) == _names(app.extensions["broker"].pm)
    finally:
        app.extensions["broker"].close()
        cli_module._APP = None


def test_a_disabled_provider_adds_no_command(broker_cli, monkeypatch):
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROKER_PLUGINS")}
    env["PYTHONPATH"] = str(ROOT)

    def supplier_commands(**extra: str) -> str:
        run = subprocess.run([sys.executable, "-m", "broker.cli", "suppliers", "--help"], env={**env, **extra},
                             capture_output=True, text=True, timeout=120, cwd=ROOT)
        assert run.returncode == 0, run.stderr
        return run.stdout

    assert "add-cas" in supplier_commands()
    listed = supplier_commands(BROKER_PLUGINS_DISABLED=CAS)
    assert "add-cas" not in listed and "add-saml" in listed


def test_settings_that_cannot_load_leave_the_default_plugins(monkeypatch):
    import broker.cli as cli_module

    monkeypatch.delenv("BROKER_SECRET_KEY", raising=False)
    monkeypatch.delenv("BROKER_SECRET_KEYS", raising=False)
    monkeypatch.setenv("BROKER_CONFIG", "/nonexistent/broker.toml")
    assert CAS in _names(cli_module.plugin_manager())
