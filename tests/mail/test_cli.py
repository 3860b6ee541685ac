"""``broker mail``: send-pending for cron (exit 0 / 1 / 2), check, failed, retry; two runs at once send once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from broker.db.mail_models import OutboxMessage
from broker.mail import queue
from fixtures.servers import free_port

ROOT = Path(__file__).resolve().parents[2]


def _queue_with_cli_settings(n: int) -> None:
    """Queue messages in the broker_cli's database (its settings come from the environment)."""
    from broker.app import create_app

    app = create_app()
    runtime = app.extensions["broker"]
    try:
        with runtime.db.session() as s:
            for i in range(n):
                queue(runtime, s, f"patron{i}@example.org", f"Sujet {i}", "Bonjour")
    finally:
        runtime.close()


def test_send_pending_exit_codes(broker_cli, smtp_server, monkeypatch):
    result = broker_cli("mail", "send-pending")
    assert result.exit_code == 2 and "smtp_host" in result.stderr  # e-mail not configured

    server = smtp_server()
    monkeypatch.setenv("BROKER_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("BROKER_MAIL_SEND_AT_ONCE", "false")
    monkeypatch.setenv("BROKER_SMTP_PORT", str(free_port()))  # down
    monkeypatch.setenv("BROKER_MAIL_RETRY_SECONDS", "3600")  # a failed message waits an hour, however slow the run
    _queue_with_cli_settings(2)
    result = broker_cli("mail", "send-pending", "--json")
    assert result.exit_code == 1
    report = result.json()
    assert (report["sent"], report["retrying"], report["pending"]) == (0, 1, 2)

    monkeypatch.setenv("BROKER_SMTP_PORT", str(server.port))
    # the first message waits out its backoff (an hour from the failed attempt); the second is due
    result = broker_cli("mail", "send-pending", "--json")
    assert result.exit_code == 0 and result.json()["sent"] == 1
    assert [m["Subject"] for m in server.received.messages] == ["Sujet 1"]
    result = broker_cli("mail", "send-pending")
    assert result.exit_code == 0 and "sent: 0" in result.stdout


def test_failed_and_retry_commands(broker_cli, smtp_server, monkeypatch):
    monkeypatch.setenv("BROKER_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("BROKER_MAIL_SEND_AT_ONCE", "false")
    monkeypatch.setenv("BROKER_MAIL_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("BROKER_SMTP_PORT", str(free_port()))
    _queue_with_cli_settings(1)
    result = broker_cli("mail", "send-pending", "--json")
    assert result.exit_code == 1 and result.json()["failed"] == 1
    listing = broker_cli("mail", "failed", "--json").json()
    assert [(m["subject"], m["attempts"]) for m in listing] == [("Sujet 0", 1)]
    assert "@" not in json.dumps(listing)
    assert broker_cli("mail", "retry").exit_code == 2
    assert broker_cli("mail", "retry", "999").exit_code == 2
    server = smtp_server()
    monkeypatch.setenv("BROKER_SMTP_PORT", str(server.port))
    assert broker_cli("mail", "retry", "--all").exit_code == 0
    assert broker_cli("mail", "send-pending").exit_code == 0
    assert len(server.received.messages) == 1
    assert broker_cli("mail", "failed", "--json").json() == []


def test_check_is_one_line_naming_the_setting(broker_cli, smtp_server, monkeypatch):
    monkeypatch.setenv("BROKER_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("BROKER_SMTP_PORT", str(free_port()))
    result = broker_cli("mail", "check")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: smtp_host") and result.stderr.strip().count("\n") == 0
    server = smtp_server()
    monkeypatch.setenv("BROKER_SMTP_PORT", str(server.port))
    result = broker_cli("mail", "check")
    assert result.exit_code == 0 and "tls=none" in result.stdout
    monkeypatch.setenv("BROKER_SMTP_CA_FILE", "/nonexistent/ca.pem")
    for command in (("mail", "check"), ("check-config",), ("mail", "send-pending")):
        result = broker_cli(*command)
        assert result.exit_code == 2, command
        assert result.stderr.startswith("error: smtp_ca_file") and result.stderr.strip().count("\n") == 0


def test_two_send_pending_runs_at_once_send_each_message_once(database_url, make_app, smtp_server, tmp_path):
    server = smtp_server(delay=0.05)  # a slow server, so that the two runs overlap
    runtime = make_app(database_url=database_url, smtp_host="127.0.0.1", smtp_port=server.port,
                       mail_send_at_once=False).extensions["broker"]
    with runtime.db.session() as s:
        for i in range(30):
            queue(runtime, s, f"patron{i}@example.org", f"Sujet {i}", "Bonjour")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT),
           "BROKER_SECRET_KEY": runtime.settings.secret_key, "BROKER_DATABASE_URL": runtime.settings.database_url,
           "BROKER_INSTANCE_PATH": str(tmp_path / "instance"), "BROKER_SMTP_HOST": "127.0.0.1",
           "BROKER_SMTP_PORT": str(server.port), "BROKER_LOG_JSON": "true"}
    code = "from broker.cli import main; main(['mail', 'send-pending', '--json'])"
    runs = [subprocess.Popen([sys.executable, "-c", code], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], [err[-2000:] for _, err in outputs]
    reports = [json.loads(out) for out, _ in outputs]
    assert sum(r["sent"] for r in reports) == 30
    ids = server.received.message_ids()
    assert len(ids) == 30 and len(set(ids)) == 30
    assert sorted(m["To"] for m in server.received.messages) == sorted(f"patron{i}@example.org" for i in range(30))
    with runtime.db.session() as s:
        assert set(s.scalars(select(OutboxMessage.state))) == {"sent"}
