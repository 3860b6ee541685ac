"""Verified TLS: a server whose certificate the broker cannot check gets nothing, credentials only over TLS."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from broker.db.mail_models import OutboxMessage
from broker.errors import ConfigError
from broker.mail import queue
from broker.mail.outbox import send_pending
from broker.mail.smtp import check_connection
from mail.smtpkit import Clock

ADDRESS = "camille.martin@example.org"


def _queue(runtime, n: int = 1) -> None:
    with runtime.db.session() as s:
        for i in range(n):
            queue(runtime, s, ADDRESS, f"Sujet {i}", "Bonjour,\n\nVotre inscription est validée.\n")


def _rows(runtime) -> list[OutboxMessage]:
    with runtime.db.session() as s:
        return list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


@pytest.mark.parametrize("mode", ["starttls", "tls"])
def test_a_self_signed_server_gets_nothing_until_its_ca_is_configured(make_app, smtp_server, pki, clock, mode):
    server = smtp_server(mode=mode)
    settings = dict(smtp_host="127.0.0.1", smtp_port=server.port, smtp_tls=mode, mail_send_at_once=False)
    untrusting = make_app(**settings).extensions["broker"]
    _queue(untrusting)

    report = send_pending(untrusting, clock=clock)
    assert (report.sent, report.retrying, report.pending) == (0, 1, 1)
    [row] = _rows(untrusting)
    assert row.state == "pending" and row.attempts == 1
    assert "certificate verify failed" in row.last_error
    assert ADDRESS not in row.last_error
    assert server.received.messages == []

    trusting = make_app(database_url=untrusting.settings.database_url, smtp_ca_file=str(pki.ca_file),
                        **settings).extensions["broker"]
    assert send_pending(trusting, clock=clock).sent == 0  # not due yet: the backoff holds
    clock.advance(60)
    report = send_pending(trusting, clock=clock)
    assert (report.sent, report.retrying, report.pending) == (1, 0, 0)
    [mail] = server.received.messages
    assert mail["To"] == ADDRESS and mail["Subject"] == "Sujet 0"
    [row] = _rows(trusting)
    assert row.state == "sent" and row.attempts == 2 and row.last_error == ""
    assert row.message_id == mail["Message-ID"]
    # the address and the text are personal data: not kept once sent
    assert row.recipient == "" and row.body == ""


def test_check_connection_names_the_setting_at_fault(make_app, smtp_server, pki):
    server = smtp_server(mode="starttls")
    base = dict(smtp_host="127.0.0.1", smtp_port=server.port, smtp_tls="starttls")
    with pytest.raises(ConfigError) as err:
        check_connection(make_app(**base).extensions["broker"].settings)
    assert err.value.key == "smtp_ca_file" and "certificate verify failed" in str(err.value)
    check_connection(make_app(smtp_ca_file=str(pki.ca_file), **base).extensions["broker"].settings)

    plain = smtp_server(mode="none")
    with pytest.raises(ConfigError) as err:
        check_connection(make_app(**{**base, "smtp_port": plain.port}).extensions["broker"].settings)
    assert err.value.key == "smtp_tls" and "STARTTLS" in str(err.value)

    from fixtures.servers import free_port

    with pytest.raises(ConfigError) as err:
        check_connection(make_app(**{**base, "smtp_port": free_port()}).extensions["broker"].settings)
    assert err.value.key == "smtp_host" and "refused" in str(err.value)
    assert str(err.value).count("\n") == 0


def test_credentials_are_sent_only_over_verified_tls(make_app, smtp_server, pki, clock):
    # a server that offers AUTH in clear and no STARTTLS: asked for STARTTLS, the broker sends nothing
    plain = smtp_server(mode="none", auth=True)
    runtime = make_app(smtp_host="127.0.0.1", smtp_port=plain.port, smtp_tls="starttls", smtp_username="sesame",
                       smtp_password="s3cret-smtp-password", mail_send_at_once=False).extensions["broker"]
    _queue(runtime)
    report = send_pending(runtime, clock=clock)
    assert report.retrying == 1
    assert plain.received.logins == [] and plain.received.messages == []
    [row] = _rows(runtime)
    assert "STARTTLS" in row.last_error and "s3cret" not in row.last_error

    # with verified TLS the login happens, inside TLS
    secure = smtp_server(mode="starttls", auth=True)
    runtime = make_app(smtp_host="127.0.0.1", smtp_port=secure.port, smtp_tls="starttls", smtp_username="sesame",
                       smtp_password="s3cret-smtp-password", smtp_ca_file=str(pki.ca_file),
                       mail_send_at_once=False).extensions["broker"]
    _queue(runtime)
    assert send_pending(runtime, clock=Clock()).sent == 1
    assert secure.received.logins == [{"login": "sesame", "tls": True}]
    assert len(secure.received.messages) == 1

    # and a configuration that would send them in clear does not load
    with pytest.raises(ConfigError) as err:
        make_app(smtp_host="mail.example.org", smtp_tls="none", smtp_username="sesame", smtp_password="x")
    assert err.value.key == "smtp_username"


def test_a_loopback_relay_is_plain_by_default_and_others_use_starttls():
    from broker.config import load_settings

    secret = {"secret_key": "k" * 40}
    assert load_settings({**secret, "smtp_host": "127.0.0.1"}, environ={}).effective_smtp_tls == "none"
    assert load_settings({**secret, "smtp_host": "localhost"}, environ={}).effective_smtp_tls == "none"
    assert load_settings({**secret, "smtp_host": "::1"}, environ={}).effective_smtp_tls == "none"
    assert load_settings({**secret, "smtp_host": "mail.example.org"}, environ={}).effective_smtp_tls == "starttls"
    assert load_settings({**secret, "smtp_host": "10.0.0.25"}, environ={}).effective_smtp_tls == "starttls"
    assert load_settings({**secret, "smtp_host": "127.0.0.1", "smtp_tls": "tls"}, environ={}).effective_smtp_tls == "tls"
    # the deprecated switch still means STARTTLS (now verified)
    assert load_settings({**secret, "smtp_host": "127.0.0.1", "smtp_starttls": True},
                         environ={}).effective_smtp_tls == "starttls"


@pytest.mark.parametrize("overrides, key", [
    ({"smtp_tls": "ssl"}, "smtp_tls"),
    ({"smtp_tls": "none", "smtp_starttls": True}, "smtp_starttls"),
    ({"smtp_ca_file": "/nonexistent/ca.pem"}, "smtp_ca_file"),
    ({"smtp_timeout": 0}, "smtp_timeout"),
    ({"mail_max_attempts": 0}, "mail_max_attempts"),
    ({"mail_retry_seconds": 600, "mail_retry_max_seconds": 60}, "mail_retry_max_seconds"),
    ({"mail_keep_days": 0}, "mail_keep_days"),
])
def test_bad_mail_settings_name_the_key(overrides, key):
    from broker.config import load_settings

    with pytest.raises(ConfigError) as err:
        load_settings({"secret_key": "k" * 40, "smtp_host": "mail.example.org", **overrides}, environ={})
    assert str(err.value).startswith(key)


def test_an_unreadable_or_empty_ca_file_is_one_line_naming_the_key(tmp_path):
    from broker.config import load_settings

    not_pem = tmp_path / "ca.pem"
    not_pem.write_text("not a certificate\n")
    with pytest.raises(ConfigError) as err:
        load_settings({"secret_key": "k" * 40, "smtp_ca_file": str(not_pem)}, environ={})
    assert err.value.key == "smtp_ca_file" and "no PEM certificate" in str(err.value)
    # a folder cannot be read as a file (a permission test would not hold when the tests run as root)
    with pytest.raises(ConfigError) as err:
        load_settings({"secret_key": "k" * 40}, environ={"BROKER_SMTP_CA_FILE": str(tmp_path)})
    assert err.value.key == "smtp_ca_file" and "cannot read" in str(err.value)
    assert str(err.value).count("\n") == 0
