"""The outbox: a server down for a while gets each message once it is back, never twice; failures go to admins."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import select

from broker.clock import as_utc
from broker.db.mail_models import OutboxMessage
from broker.mail import queue
from broker.mail.outbox import _claim, failed_count, failed_messages, retry, run_worker, send_pending, start_worker
from fixtures.servers import free_port
from mail.smtpkit import Clock


def _queue(runtime, n: int = 1, *, network_id=None) -> None:
    with runtime.db.session() as s:
        for i in range(n):
            queue(runtime, s, f"patron{i}@example.org", f"Sujet {i}", f"Bonjour {i}", network_id=network_id)


def _rows(runtime) -> list[OutboxMessage]:
    with runtime.db.session() as s:
        return list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def _app(make_app, port: int, **settings):
    return make_app(smtp_host="127.0.0.1", smtp_port=port, mail_send_at_once=False, **settings).extensions["broker"]


def test_a_server_down_for_a_while_gets_every_message_once_it_is_back(make_app, smtp_server, clock):
    port = free_port()  # nothing listens there yet
    runtime = _app(make_app, port)
    _queue(runtime, 3)

    report = send_pending(runtime, clock=clock)
    # the server cannot be reached: one attempt recorded, the others wait for the next run
    assert (report.sent, report.retrying, report.pending) == (0, 1, 3)
    first = _rows(runtime)[0]
    assert first.attempts == 1 and "refused" in first.last_error
    assert as_utc(first.next_attempt_at) == clock() + timedelta(seconds=60)

    # each run tries one message; the backoff doubles for each message: 60 s, 120 s, 240 s…
    for _ in range(2):
        clock.advance(1)
        assert send_pending(runtime, clock=clock).retrying == 1
    assert [r.attempts for r in _rows(runtime)] == [1, 1, 1]
    clock.advance(60)
    assert send_pending(runtime, clock=clock).retrying == 1
    first = _rows(runtime)[0]
    assert first.attempts == 2 and as_utc(first.next_attempt_at) == clock() + timedelta(seconds=120)
    for _ in range(2):  # the two others are due too: one attempt per run
        assert send_pending(runtime, clock=clock).retrying == 1
    assert [r.attempts for r in _rows(runtime)] == [2, 2, 2]
    assert send_pending(runtime, clock=clock).retrying == 0  # nothing due: no attempt at all
    clock.advance(119)
    assert send_pending(runtime, clock=clock).retrying == 0  # still waiting out the 120 s
    assert all(r.state == "pending" for r in _rows(runtime))

    server = smtp_server(port=port)  # the server is back
    clock.advance(3600)
    report = send_pending(runtime, clock=clock)
    assert (report.sent, report.retrying, report.pending) == (3, 0, 0)
    assert report.ok
    for _ in range(3):
        clock.advance(3600)
        assert send_pending(runtime, clock=clock).sent == 0
    assert sorted(m["To"] for m in server.received.messages) == [f"patron{i}@example.org" for i in range(3)]
    assert len(set(server.received.message_ids())) == 3
    rows = _rows(runtime)
    assert [r.state for r in rows] == ["sent"] * 3 and all(r.recipient == "" and r.body == "" for r in rows)


def test_the_request_tries_at_once_and_the_outbox_retries_what_failed(make_app, smtp_server):
    port = free_port()
    app = make_app(smtp_host="127.0.0.1", smtp_port=port)  # mail_send_at_once: the default
    runtime = app.extensions["broker"]
    _queue(runtime)  # committed: tried at once, the server is down
    [row] = _rows(runtime)
    assert row.state == "pending" and row.attempts == 1
    server = smtp_server(port=port)
    _queue(runtime)  # the server is up: this one leaves at once
    assert [m["Subject"] for m in server.received.messages] == ["Sujet 0"]
    clock = Clock()
    clock.advance(60)
    assert send_pending(runtime, clock=clock).sent == 1  # the first one, by the worker or cron
    assert sorted(m["Subject"] for m in server.received.messages) == ["Sujet 0", "Sujet 0"]
    assert len(set(server.received.message_ids())) == 2


def test_nothing_is_queued_when_no_smtp_host_is_set(make_app):
    runtime = make_app().extensions["broker"]
    _queue(runtime)
    assert _rows(runtime) == []


def _attempts(outcome: str) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value("broker_mail_attempts_total", {"outcome": outcome}) or 0.0


def test_a_message_that_keeps_failing_is_marked_failed_for_the_admins(make_app, smtp_server, clock):
    before = {o: _attempts(o) for o in ("sent", "retrying", "failed")}
    port = free_port()
    runtime = _app(make_app, port, mail_max_attempts=3, mail_retry_seconds=10, mail_retry_max_seconds=15)
    _queue(runtime)
    outcomes = []
    for _ in range(3):
        report = send_pending(runtime, clock=clock)
        outcomes.append((report.retrying, report.failed))
        clock.advance(15)
    assert outcomes == [(1, 0), (1, 0), (0, 1)]
    [row] = _rows(runtime)
    assert row.state == "failed" and row.attempts == 3 and row.failed_at is not None
    assert row.recipient == "patron0@example.org"  # kept, so that an admin can send it again
    assert send_pending(runtime, clock=clock).failed_total == 1
    with runtime.db.session() as s:
        assert failed_count(s, []) == 1
        assert [m.subject for m in failed_messages(s, [])] == ["Sujet 0"]

    server = smtp_server(port=port)
    with runtime.db.session() as s:
        assert retry(s, row.id, clock=clock) is not None
    report = send_pending(runtime, clock=clock)
    assert (report.sent, report.failed_total) == (1, 0)
    assert len(server.received.messages) == 1
    assert {o: _attempts(o) - before[o] for o in before} == {"sent": 1, "retrying": 2, "failed": 1}


def test_a_refused_recipient_fails_at_once_and_the_error_keeps_no_address(make_app, smtp_server, clock, caplog):
    caplog.set_level("INFO", logger="broker.mail")
    server = smtp_server(refuse_rcpt="550 5.1.1 <{address}>: Recipient address rejected: user unknown")
    runtime = _app(make_app, server.port)
    _queue(runtime, 2)
    report = send_pending(runtime, clock=clock)
    assert (report.failed, report.retrying, report.sent) == (2, 0, 0)  # a 5xx for one address: the next is tried
    for row in _rows(runtime):
        assert row.state == "failed" and row.attempts == 1
        assert "550" in row.last_error and "<address>" in row.last_error
        assert "@" not in row.last_error
    mail_logs = [r.getMessage() for r in caplog.records if r.name == "broker.mail"]
    assert len(mail_logs) == 2 and all("550" in line and "@" not in line for line in mail_logs)


def test_a_server_that_turns_connections_away_fails_no_message(make_app, clock):
    """A 5xx greeting is about the server, not about a message: the messages wait and are retried."""
    import socketserver

    class TurnAway(socketserver.BaseRequestHandler):
        def handle(self):
            self.request.sendall(b"554 5.3.2 no SMTP service here\r\n")

    with socketserver.TCPServer(("127.0.0.1", 0), TurnAway) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            runtime = _app(make_app, server.server_address[1])
            _queue(runtime, 2)
            report = send_pending(runtime, clock=clock)
        finally:
            server.shutdown()
    assert (report.retrying, report.failed, report.pending) == (1, 0, 2)
    assert "554" in _rows(runtime)[0].last_error


def test_a_claimed_message_cannot_be_claimed_again(database_url, make_app, clock):
    runtime = make_app(database_url=database_url, smtp_host="127.0.0.1", smtp_port=1,
                       mail_send_at_once=False).extensions["broker"]
    _queue(runtime)
    [row] = _rows(runtime)
    now = clock()
    assert _claim(runtime.db, row.id, "sender-a", now) is not None
    assert _claim(runtime.db, row.id, "sender-b", now) is None
    # a sender that died keeps its claim only for the lease: then another one may take the message
    assert _claim(runtime.db, row.id, "sender-b", now + timedelta(minutes=11)) is not None
    report = send_pending(runtime, clock=clock)  # a run meanwhile leaves the claimed message alone
    assert (report.sent, report.retrying, report.pending) == (0, 0, 1)


def test_sent_traces_and_failed_messages_are_deleted_after_mail_keep_days(make_app, smtp_server, clock):
    server = smtp_server()
    runtime = _app(make_app, server.port, mail_keep_days=7)
    _queue(runtime)
    assert send_pending(runtime, clock=clock).sent == 1
    clock.advance(6 * 86400)
    send_pending(runtime, clock=clock)
    assert len(_rows(runtime)) == 1
    clock.advance(2 * 86400)
    send_pending(runtime, clock=clock)
    assert _rows(runtime) == []


def test_the_worker_sends_until_it_is_stopped(make_app, smtp_server):
    server = smtp_server()
    runtime = _app(make_app, server.port)
    _queue(runtime, 1)
    stop = threading.Event()
    worker = threading.Thread(target=run_worker, args=(runtime, stop), kwargs={"poll_seconds": 0.05}, daemon=True)
    worker.start()
    try:
        _queue(runtime, 2)  # one more, for a later run ("Sujet 0" again, its own message)
        server.received.wait_for(3)
    finally:
        stop.set()
        worker.join(10)
    assert not worker.is_alive()
    assert sorted(m["Subject"] for m in server.received.messages) == ["Sujet 0", "Sujet 0", "Sujet 1"]
    assert [r.state for r in _rows(runtime)] == ["sent", "sent", "sent"]


def test_start_worker_runs_it_in_a_thread_until_stopped(make_app, smtp_server):
    server = smtp_server()
    runtime = _app(make_app, server.port)
    _queue(runtime)  # sent by the worker's first run
    stop = start_worker(runtime)
    try:
        server.received.wait_for(1)
    finally:
        stop(10)
    assert [m["Subject"] for m in server.received.messages] == ["Sujet 0"]
    assert not any(t.name == "mail" and t.is_alive() for t in threading.enumerate())


def test_a_message_that_cannot_be_written_fails_at_once_and_the_next_is_sent(make_app, smtp_server, clock):
    server = smtp_server()
    runtime = _app(make_app, server.port)
    with runtime.db.session() as s:
        queue(runtime, s, "patron@example.org\nBcc: everyone@example.org", "Injection", "Bonjour")
        queue(runtime, s, "patron@example.org", "Normal", "Bonjour")
    report = send_pending(runtime, clock=clock)
    assert (report.failed, report.sent) == (1, 1)
    assert [m["Subject"] for m in server.received.messages] == ["Normal"]
    failed = _rows(runtime)[0]
    assert failed.state == "failed" and "cannot be written" in failed.last_error and "@" not in failed.last_error
