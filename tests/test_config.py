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
    cfg.write_text('secret_key = "%s"\nbase_url = "https://file.example.org"\n[smtp]\nhost = "mail.file"\nport = 2525\n' % SECRET)
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
    cfg.write_text('secret_key = "%s"\ndatabase_ulr = "x"\n' % SECRET)
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
    proc = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert "secret_key" in proc.stderr and "Traceback" not in proc.stderr
