"""Settings: defaults < TOML file < BROKER_* environment < overrides; bad settings name their key."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from broker.config import Settings, load_settings
from broker.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
SECRET = "k" * 40


def test_defaults_use_embedded_sqlite_and_sql_state():
    s = load_settings({"secret_key": SECRET}, environ={})
    assert s.effective_database_url.startswith("sqlite:///")
    assert s.redis_url == ""
    assert not s.secure_cookies


def test_file_then_environment_then_overrides(tmp_path):
    cfg = tmp_path / "broker.toml"
    cfg.write_text(f'secret_key = "{SECRET}"\nbase_url = "https://file.example.org"\n[smtp]\nhost = "mail.file"\nport = 2525\n')
    s = load_settings(environ={"BROKER_CONFIG": str(cfg)})
    assert (s.base_url, s.smtp_host, s.smtp_port) == ("https://file.example.org", "mail.file", 2525)
    assert s.secure_cookies
    s = load_settings(environ={"BROKER_CONFIG": str(cfg), "BROKER_SMTP_HOST": "mail.env", "BROKER_SMTP_PORT": "26"})
    assert (s.smtp_host, s.smtp_port) == ("mail.env", 26)
    s = load_settings({"smtp_host": "mail.override"}, environ={"BROKER_CONFIG": str(cfg), "BROKER_SMTP_HOST": "mail.env"})
    assert s.smtp_host == "mail.override"


@pytest.mark.parametrize(
    "environ, key",
    [
        ({}, "secret_key"),
        ({"BROKER_SECRET_KEY": "short"}, "secret_key"),
        ({"BROKER_SECRET_KEY": SECRET, "BROKER_BASE_URL": "ftp://x"}, "base_url"),
        ({"BROKER_SECRET_KEY": SECRET, "BROKER_DATABASE_URL": "mysql://x"}, "database_url"),
        ({"BROKER_SECRET_KEY": SECRET, "BROKER_REDIS_URL": "http://x"}, "redis_url"),
        ({"BROKER_SECRET_KEY": SECRET, "BROKER_SMTP_PORT": "twenty"}, "BROKER_SMTP_PORT"),
        ({"BROKER_SECRET_KEY": SECRET, "BROKER_LOG_JSON": "maybe"}, "BROKER_LOG_JSON"),
        ({"BROKER_SECRET_KEY": SECRET, "BROKER_CONFIG": "/nonexistent.toml"}, "BROKER_CONFIG"),
    ],
)
def test_bad_settings_name_the_key(environ, key):
    with pytest.raises(ConfigError) as err:
        load_settings(environ=environ)
    assert str(err.value).startswith(key)


def test_unknown_or_mistyped_key_in_file(tmp_path):
    cfg = tmp_path / "b.toml"
    cfg.write_text(f'secret_key = "{SECRET}"\ndatabase_ulr = "x"\n')
    with pytest.raises(ConfigError, match="database_ulr"):
        load_settings(environ={"BROKER_CONFIG": str(cfg)})
    cfg.write_text("this is [not toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(environ={"BROKER_CONFIG": str(cfg)})


def test_example_file_documents_every_key_and_loads():
    text = (ROOT / "config" / "broker.example.toml").read_text()
    sections = {}
    current = ""
    for line in text.splitlines():
        m = re.match(r"^\[(\w+)\]", line)
        if m:
            current = m.group(1) + "_"
        m = re.match(r"^#?\s*(\w+) = ", line)
        if m:
            sections[current + m.group(1)] = True
    missing = [f.name for f in Settings.keys() if f.name not in sections]
    assert not missing, f"keys missing from config/broker.example.toml: {missing}"
    load_settings({"secret_key": SECRET}, environ={}, config_file=ROOT / "config" / "broker.example.toml")


def test_wsgi_start_with_bad_setting_is_one_line(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "BROKER_SECRET_KEY": "short", "BROKER_INSTANCE_PATH": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", "import broker.wsgi"], cwd=ROOT, env={**env, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert "secret_key" in proc.stderr and "Traceback" not in proc.stderr


def test_the_instance_folder_is_never_in_the_package(monkeypatch, tmp_path):
    import broker
    from broker import config

    package = Path(broker.__file__).resolve().parent
    assert config.default_instance_path({"BROKER_INSTANCE_PATH": str(tmp_path)}) == tmp_path
    monkeypatch.setattr(config.os, "geteuid", lambda: 1000)
    assert config.default_instance_path({"HOME": "/home/ana"}) == Path("/home/ana/.local/share/sesame")
    assert config.default_instance_path({"XDG_DATA_HOME": "/data"}) == Path("/data/sesame")
    monkeypatch.setattr(config.os, "geteuid", lambda: 0)
    assert config.default_instance_path({}) == config.SYSTEM_INSTANCE
    for found in (config.default_instance_path({}), Path(load_settings({"secret_key": SECRET}).instance_path)):
        assert package not in found.resolve().parents and ROOT not in found.resolve().parents


def test_metrics_bind_is_checked():
    with pytest.raises(ConfigError, match="metrics_bind"):
        load_settings({"secret_key": SECRET, "metrics_bind": "9464"}, environ={})
    s = load_settings({"secret_key": SECRET, "metrics_bind": "127.0.0.1:9464"}, environ={})
    assert s.metrics_bind == "127.0.0.1:9464"


@pytest.mark.xdist_group("make_run")
def test_the_config_tests_pass_beside_a_demo_instance(tmp_path):
    """`make run` writes instance/broker.toml in the checkout; `make test` must not read it."""
    import shutil

    copy = tmp_path / "checkout"
    ignore = shutil.ignore_patterns(".venv", ".git", "instance", "__pycache__", "*.egg-info", "artifacts", "results")
    for name in ("broker", "connectors", "tests", "config", "pyproject.toml"):
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, copy / name, **(
            {"ignore": ignore} if source.is_dir() else {}))
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("BROKER_")}
    env["PYTHONPATH"] = str(copy)
    setup = subprocess.run(  # what `make run` does first: the demo instance with its own secret
        [sys.executable, "-c", "from broker.cli.serving import prepare_demo_instance; "
                               "prepare_demo_instance('127.0.0.1:5000', 8025)"],
        cwd=copy, env={**env, "BROKER_INSTANCE_PATH": str(copy / "instance")}, capture_output=True, text=True)
    assert setup.returncode == 0, setup.stderr
    assert "secret_key" in (copy / "instance" / "broker.toml").read_text()
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0",
                          "tests/test_config.py", "-k", "not beside_a_demo_instance"],
                         cwd=copy, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
