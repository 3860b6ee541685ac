"""BROKER_SECRET_KEYS / secret_keys: the new key first, then the old ones; a wrong list is one line, exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from broker.config import Settings, load_settings
from broker.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent.parent
NEW = "n" * 40
OLD = "o" * 40
OLDER = "p" * 40


def test_a_list_newest_first():
    s = load_settings(environ={"BROKER_SECRET_KEYS": f"{NEW}, {OLD},{OLDER}"})
    assert s.secret_keys == (NEW, OLD, OLDER) and s.secret_key == NEW


def test_secret_key_alone_is_a_one_key_list():
    assert load_settings(environ={"BROKER_SECRET_KEY": OLD}).secret_keys == (OLD,)
    assert Settings(secret_key=OLD).secret_keys == (OLD,)


def test_the_list_from_the_config_file(tmp_path):
    cfg = tmp_path / "broker.toml"
    cfg.write_text(f'secret_keys = ["{NEW}", "{OLD}"]\n')
    s = load_settings(environ={"BROKER_CONFIG": str(cfg)})
    assert (s.secret_key, s.secret_keys) == (NEW, (NEW, OLD))
    # the old secret_key of the file may stay while the environment lists it after the new key
    cfg.write_text(f'secret_key = "{OLD}"\n')
    s = load_settings(environ={"BROKER_CONFIG": str(cfg), "BROKER_SECRET_KEYS": f"{NEW},{OLD}"})
    assert (s.secret_key, s.secret_keys) == (NEW, (NEW, OLD))


@pytest.mark.parametrize("environ, words", [
    ({"BROKER_SECRET_KEYS": f"{NEW},short"}, "key 2 of 2 is too short"),
    ({"BROKER_SECRET_KEYS": f"tiny,{OLD}"}, "key 1 of 2 is too short"),
    ({"BROKER_SECRET_KEYS": f"{NEW},{OLD},{NEW}"}, "key 3 of 3 repeats"),
    ({"BROKER_SECRET_KEYS": " , "}, "empty"),
    ({"BROKER_SECRET_KEYS": f"{NEW},{OLD}", "BROKER_SECRET_KEY": OLDER}, "does not contain secret_key"),
])
def test_a_wrong_list_names_secret_keys(environ, words):
    with pytest.raises(ConfigError) as err:
        load_settings(environ=environ)
    assert str(err.value).startswith("secret_keys") and words in str(err.value)
    assert NEW not in str(err.value) and OLD not in str(err.value)  # never the keys themselves


def _broker(args: list[str], env: dict[str, str], tmp_path) -> subprocess.CompletedProcess:
    full = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT),
            "BROKER_INSTANCE_PATH": str(tmp_path / "instance"), **env}
    code = "import sys; from broker.cli import main; sys.argv[0] = 'broker'; main()"
    return subprocess.run([sys.executable, "-c", code, *args], cwd=tmp_path, env=full, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("args", [["check-config"], ["secrets", "rotate", "--json"]])
def test_commands_refuse_a_wrong_list_in_one_line(args, tmp_path):
    proc = _broker(args, {"BROKER_SECRET_KEYS": f"{NEW},too-short-to-be-a-key"}, tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == "" and proc.stderr.strip().count("\n") == 0
    assert proc.stderr.startswith("error: secret_keys: key 2 of 2 is too short") and "Traceback" not in proc.stderr


def test_check_config_counts_the_keys(tmp_path):
    proc = _broker(["check-config"], {"BROKER_SECRET_KEYS": f"{NEW},{OLD}"}, tmp_path)
    assert proc.returncode == 0 and "secret_keys=2" in proc.stdout
    assert NEW not in proc.stdout and OLD not in proc.stdout

