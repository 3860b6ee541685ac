"""Timeouts, dropped connections, dead and misbehaving SIP2 servers: precise errors, never a hang."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from broker.domain.connectors import ConnectorContext, ConnectorProtocolError, ConnectorUnavailable
from broker.testing import MovableClock, free_port
from broker.testing.sip2 import frames, running_emulator
from connectors.sip2.codec import Message, encode
from connectors.sip2.connector import Sip2Connector, Sip2Settings

GOOD = ("23000000000001", "1234")


def settings_for(port: int, **overrides) -> Sip2Settings:
    values = {"host": "127.0.0.1", "port": port, "login": "sesame", "password": "sesame", "institution": "X"}
    values.update({"timeout": 0.5, **overrides})
    return Sip2Settings.model_validate(values)


class ScriptedServer:
    """A TCP server that accepts the login, then answers each request with the next scripted bytes."""

    def __init__(self, answers: list[bytes | Callable[[socket.socket], None]], login: bytes = b"941\r") -> None:
        self.answers = answers
        self.login = login
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        with conn:
            answers = iter(self.answers)
            for frame in frames(conn):
                if frame.startswith(b"93"):
                    conn.sendall(self.login)
                    continue
                answer = next(answers, None)
                if answer is None:
                    return
                if callable(answer):
                    answer(conn)
                else:
                    conn.sendall(answer)

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def scripted() -> Iterator[Callable[..., ScriptedServer]]:
    servers: list[ScriptedServer] = []

    def make(*answers, login: bytes = b"941\r") -> ScriptedServer:
        server = ScriptedServer(list(answers), login)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


def test_refused_connection_is_unavailable_at_once() -> None:
    connector = Sip2Connector(settings_for(free_port()))
    started = time.monotonic()
    with pytest.raises(ConnectorUnavailable, match="refused the connection"):
        connector.authenticate(*GOOD)
    assert time.monotonic() - started < 0.5
    assert not connector.check().ok


def test_silent_server_times_out_within_the_setting() -> None:
    listener = socket.create_server(("127.0.0.1", 0))  # accepts, never answers
    try:
        connector = Sip2Connector(settings_for(listener.getsockname()[1], timeout=0.3))
        started = time.monotonic()
        with pytest.raises(ConnectorUnavailable, match="did not answer within 0.3"):
            connector.authenticate(*GOOD)
        assert 0.25 < time.monotonic() - started < 1.3
    finally:
        listener.close()


def test_delayed_emulator_times_out_then_recovers(patrons_csv, connect) -> None:
    with running_emulator(patrons_csv, delay_ms=400) as slow:
        connector = connect(slow, timeout=0.2)
        started = time.monotonic()
        with pytest.raises(ConnectorUnavailable):
            connector.authenticate(*GOOD)
        assert time.monotonic() - started < 1.2
        patient = connect(slow, timeout=3)
        assert patient.authenticate(*GOOD).card == GOOD[0]


def test_timeout_covers_the_whole_call_not_each_read(patrons_csv, connect) -> None:
    with running_emulator(patrons_csv, delay_ms=250) as slow:
        connector = connect(slow, timeout=0.4)  # login 250 ms + request 250 ms > 400 ms
        started = time.monotonic()
        with pytest.raises(ConnectorUnavailable):
            connector.authenticate(*GOOD)
        assert time.monotonic() - started < 0.7


def test_dropped_connections_are_reopened_and_logged_in_again(koha, connect) -> None:
    connector = connect(koha)
    connector.authenticate(*GOOD)
    logins = koha.stats.logins
    koha.drop_connections()
    time.sleep(0.05)
    assert connector.authenticate(*GOOD).card == GOOD[0]
    assert koha.stats.logins == logins + 1
    assert connector.pool.logins == 2


def test_drop_noticed_only_when_sending_is_retried_once(patrons_csv, connect) -> None:
    with running_emulator(patrons_csv, fail_rate=1.0) as failing:
        connector = connect(failing)
        with pytest.raises(ConnectorUnavailable, match="closed the connection"):
            connector.authenticate(*GOOD)


def test_partial_failures_leave_the_pool_usable(patrons_csv, connect) -> None:
    with running_emulator(patrons_csv, fail_rate=0.3, seed=7) as flaky:
        connector = connect(flaky)
        outcomes = {"ok": 0, "unavailable": 0}
        for _ in range(60):
            try:
                connector.authenticate(*GOOD)
                outcomes["ok"] += 1
            except ConnectorUnavailable:
                outcomes["unavailable"] += 1
        assert outcomes["ok"] > 20 and outcomes["unavailable"] > 0


def test_idle_connections_past_max_idle_are_replaced(koha, connect) -> None:
    clock = MovableClock()
    connector = connect(koha, max_idle=0.05, context=ConnectorContext("FR-1", clock=clock))
    connector.authenticate(*GOOD)
    clock.advance(0.1)
    connector.authenticate(*GOOD)
    assert connector.pool.logins == 2


def test_busy_pool_waits_then_gives_up_within_the_timeout(patrons_csv, connect) -> None:
    with running_emulator(patrons_csv, delay_ms=300) as slow:
        connector = connect(slow, pool_size=1, timeout=0.5)
        errors: list[BaseException] = []

        def call() -> None:
            try:
                connector.authenticate(*GOOD)
            except ConnectorUnavailable as exc:
                errors.append(exc)

        threads = [threading.Thread(target=call) for _ in range(3)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert time.monotonic() - started < 1.5
        assert errors  # not every caller could get the single connection in time


@pytest.mark.parametrize(
    "answer, match",
    [
        (b"garbage that is no SIP2\r", "unknown SIP2 message identifier"),
        (b"64YY\r", "truncated"),
        (b"24" + b" " * 35 + b"AEx|BLY|\r", "answered message 24"),
        (b"64" + b" " * 59 + b"AEx|\r", "no valid BL"),
        (b"64" + b" " * 59 + b"BLY|AEx|\r", "no valid CQ"),
        (b"64" + b" " * 59 + b"BLY|CQY|PBnot a date|\r", "PB is not a date"),
        (b"64" + b" " * 59 + b"BLY|CQY|\r64" + b" " * 59 + b"BLY|CQY|\r", "more than one answer"),
    ],
)
def test_garbage_answers_are_protocol_errors_with_the_raw_answer(scripted, answer, match) -> None:
    server = scripted(answer)
    connector = Sip2Connector(settings_for(server.port))
    with pytest.raises(ConnectorProtocolError, match=match) as refused:
        connector.authenticate(*GOOD)
    connector.close()
    assert refused.value.reason == "protocol"


def test_half_an_answer_then_silence_is_a_protocol_error_in_time(scripted) -> None:
    server = scripted(b"64" + b" " * 20)
    connector = Sip2Connector(settings_for(server.port, timeout=0.3))
    started = time.monotonic()
    with pytest.raises(ConnectorProtocolError, match="incomplete answer") as refused:
        connector.authenticate(*GOOD)
    assert time.monotonic() - started < 1
    assert refused.value.raw.startswith("64")


def test_half_an_answer_then_close_is_a_protocol_error(scripted) -> None:
    def half_then_close(conn: socket.socket) -> None:
        conn.sendall(b"64   ")
        conn.shutdown(socket.SHUT_RDWR)

    server = scripted(half_then_close)
    connector = Sip2Connector(settings_for(server.port))
    with pytest.raises(ConnectorProtocolError, match="middle of an answer"):
        connector.authenticate(*GOOD)


def test_endless_answer_is_cut_at_the_frame_limit(scripted) -> None:
    server = scripted(b"64" + b"x" * 20_000)
    connector = Sip2Connector(settings_for(server.port, timeout=2))
    with pytest.raises(ConnectorProtocolError, match="longer than"):
        connector.authenticate(*GOOD)


def test_a_resend_request_gets_the_request_again(scripted) -> None:
    good = b"64" + b" " * 14 + b"000" + b"20240101    120000" + b"0000" * 6 + b"AA1|AEOk|BLY|CQY|\r"
    server = scripted(b"96\r", good)
    connector = Sip2Connector(settings_for(server.port))
    assert connector.authenticate(*GOOD).name == "Ok"


def test_two_resend_requests_in_a_row_are_a_protocol_error(scripted) -> None:
    server = scripted(b"96\r", b"96\r")
    connector = Sip2Connector(settings_for(server.port))
    with pytest.raises(ConnectorProtocolError, match="answered message 96"):
        connector.authenticate(*GOOD)


def test_a_wrong_checksum_in_an_answer_asks_for_a_resend(scripted) -> None:
    fixed = " " * 14 + "000" + "20240101    120000" + "0000" * 6
    good = encode(Message("64", fixed, (("BL", "Y"), ("CQ", "Y"), ("AE", "Ok")), 1), error_detection=True)
    corrupt = good[:-5] + (b"0000\r" if not good.endswith(b"0000\r") else b"1111\r")
    login = encode(Message("94", "1", (), 0), error_detection=True)
    server = scripted(corrupt, good, login=login)
    connector = Sip2Connector(settings_for(server.port, error_detection=True))
    assert connector.authenticate(*GOOD).name == "Ok"


def test_a_second_wrong_checksum_is_a_protocol_error(scripted) -> None:
    fixed = " " * 14 + "000" + "20240101    120000" + "0000" * 6
    good = encode(Message("64", fixed, (("BL", "Y"), ("CQ", "Y")), 1), error_detection=True)
    corrupt = good[:-5] + (b"0000\r" if not good.endswith(b"0000\r") else b"1111\r")
    server = scripted(corrupt, corrupt, login=encode(Message("94", "1", (), 0), error_detection=True))
    connector = Sip2Connector(settings_for(server.port, error_detection=True))
    with pytest.raises(ConnectorProtocolError, match="wrong checksum"):
        connector.authenticate(*GOOD)


def test_an_answer_without_checksum_is_refused_when_error_detection_is_on(scripted) -> None:
    server = scripted(b"941\r", login=b"941\r")  # the second 941 answers the client's resend request
    connector = Sip2Connector(settings_for(server.port, error_detection=True))
    with pytest.raises(ConnectorProtocolError, match="no checksum"):
        connector.authenticate(*GOOD)


def test_an_answer_with_another_sequence_number_is_refused(scripted) -> None:
    fixed = " " * 14 + "000" + "20240101    120000" + "0000" * 6
    stale = encode(Message("64", fixed, (("BL", "Y"), ("CQ", "Y")), 7), error_detection=True)
    server = scripted(stale, login=encode(Message("94", "1", (), 0), error_detection=True))
    connector = Sip2Connector(settings_for(server.port, error_detection=True))
    with pytest.raises(ConnectorProtocolError, match="sequence 7, expected 1"):
        connector.authenticate(*GOOD)
