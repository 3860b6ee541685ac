"""A Koha that fails, answers garbage, is slow or is not there: precise errors, on time."""

from __future__ import annotations

import socket
import time

import pytest

from broker.domain.connectors import ConnectorProtocolError, ConnectorUnavailable, UnknownPatron
from connectors.koha import KohaConnector

VALIDATION = "/api/v1/auth/password/validation"
PATRON = "/api/v1/patrons/"
#: the deadline of the tests about deadlines; the servers they face would take STALL seconds
TIMEOUT = 0.3
STALL = 30.0
#: how late past its deadline a call may return on a busy machine: far below STALL, so a call that
#: waited for the server instead of its deadline still fails the test
SLACK = 5.0
#: the deadline of the tests about answers: they must not time out, however busy the machine
ANSWER_TIMEOUT = 15.0


@pytest.fixture
def connector(koha_settings):
    """For answers that come at once: what they say matters, not how fast they come."""
    conn = KohaConnector(koha_settings(timeout=ANSWER_TIMEOUT))
    yield conn
    conn.close()


@pytest.fixture
def deadline_connector(koha_settings):
    conn = KohaConnector(koha_settings(timeout=TIMEOUT))
    yield conn
    conn.close()


@pytest.mark.parametrize("path, kind, error, message", [
    (VALIDATION, "500", ConnectorUnavailable, "Something went wrong"),
    (VALIDATION, "503", ConnectorUnavailable, "maintenance"),
    (VALIDATION, "502-html", ConnectorUnavailable, "HTTP 502"),
    (VALIDATION, "hang-up", ConnectorUnavailable, "closed the connection"),
    (VALIDATION, "html", ConnectorProtocolError, "HTTP 200"),
    (VALIDATION, "html-201", ConnectorProtocolError, "text/html"),
    (VALIDATION, "garbage", ConnectorProtocolError, "not valid JSON"),
    (VALIDATION, "not-utf8", ConnectorProtocolError, "not valid JSON"),
    (VALIDATION, "empty", ConnectorProtocolError, "not valid JSON"),
    (VALIDATION, "no-patron-id", ConnectorProtocolError, "patron_id"),
    (VALIDATION, "string-patron-id", ConnectorProtocolError, "patron_id"),
    (VALIDATION, "400-html", ConnectorProtocolError, "text/html"),
    (VALIDATION, "400-schema", ConnectorProtocolError, "rejected the request"),
    (VALIDATION, "418", ConnectorProtocolError, "HTTP 418"),
    (VALIDATION, "redirect", ConnectorProtocolError, "base_url"),
    (VALIDATION, "truncated", ConnectorProtocolError, "cut short"),
    (PATRON, "500", ConnectorUnavailable, "Koha failed"),
    (PATRON, "array", ConnectorProtocolError, "not a JSON object"),
    (PATRON, "wrong-types", ConnectorProtocolError, "restricted"),
    (PATRON, "html", ConnectorProtocolError, "text/html"),
    (PATRON, "huge", ConnectorProtocolError, "larger than"),
])
def test_bad_answers_give_precise_errors(connector, koha, path, kind, error, message):
    koha.fault(path, kind)
    with pytest.raises(error, match=message) as caught:
        connector.authenticate("KOHA0001", "alice-pw")
    if error is ConnectorProtocolError:
        assert caught.value.raw is not None
        assert "KOHA0001" not in caught.value.raw.upper()  # the raw answer is reported, the card masked


@pytest.mark.parametrize("kind, error", [
    ("500", ConnectorUnavailable), ("html", ConnectorProtocolError), ("garbage", ConnectorProtocolError),
])
def test_lookup_and_check_report_bad_answers(connector, koha, kind, error):
    koha.fault("/api/v1/patrons", kind)
    with pytest.raises(error):
        connector.lookup("KOHA0001")
    assert not connector.check().ok


def test_refusal_stands_when_the_unknown_card_lookup_fails(connector, koha):
    koha.fault("/api/v1/patrons", "500")
    with pytest.raises(Exception) as caught:
        connector.authenticate("KOHA4242", "x")
    assert type(caught.value).__name__ == "InvalidCredentials"
    assert not isinstance(caught.value, UnknownPatron)


@pytest.mark.parametrize("path, kind", [
    (VALIDATION, "slow"), (PATRON, "slow"), ("/api/v1/oauth/token", "slow"), (VALIDATION, "drip"),
])
def test_slow_answers_time_out_within_the_budget(deadline_connector, koha, path, kind):
    koha.fault(path, kind, delay=STALL)
    started = time.monotonic()
    with pytest.raises(ConnectorUnavailable, match="in time"):
        deadline_connector.authenticate("KOHA0001", "alice-pw")
    assert time.monotonic() - started < TIMEOUT + SLACK


def test_slow_check_times_out(deadline_connector, koha):
    koha.fault("/api/v1/patrons", "slow", delay=STALL)
    started = time.monotonic()
    health = deadline_connector.check()
    assert not health.ok and "in time" in health.detail
    assert time.monotonic() - started < TIMEOUT + SLACK


def test_refused_port_is_unavailable_at_once(koha_settings, dead_port):
    conn = KohaConnector(koha_settings(base_url=f"http://127.0.0.1:{dead_port}", timeout=STALL))
    started = time.monotonic()
    with pytest.raises(ConnectorUnavailable, match="Connection refused"):
        conn.authenticate("KOHA0001", "alice-pw")
    with pytest.raises(ConnectorUnavailable):
        conn.lookup("KOHA0001")
    assert not conn.check().ok
    assert time.monotonic() - started < SLACK  # refused at once, not after the deadline
    conn.close()


def test_server_that_never_answers(koha_settings):
    with socket.socket() as silent:  # listens, never accepts: the kernel completes handshakes
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        conn = KohaConnector(koha_settings(base_url=f"http://127.0.0.1:{port}", timeout=TIMEOUT, auth="basic"))
        started = time.monotonic()
        with pytest.raises(ConnectorUnavailable, match="in time"):
            conn.authenticate("KOHA0001", "alice-pw")
        assert time.monotonic() - started < TIMEOUT + SLACK
        conn.close()


def test_stuck_requests_do_not_hold_other_calls_beyond_their_deadline(koha_settings, koha):
    conn = KohaConnector(koha_settings(timeout=0.3, pool_size=2))
    koha.fault(VALIDATION, "slow", delay=STALL)
    for _ in range(3):  # more stuck calls than pool threads
        with pytest.raises(ConnectorUnavailable):
            conn.authenticate("KOHA0001", "alice-pw")
    started = time.monotonic()
    with pytest.raises(ConnectorUnavailable):
        conn.authenticate("KOHA0001", "alice-pw")
    assert time.monotonic() - started < TIMEOUT + SLACK
    conn.close()
