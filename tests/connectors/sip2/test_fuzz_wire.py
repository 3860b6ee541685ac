"""A SIGB answering anything at all: the connector gives a patron, None or a connector error, never a crash.

The codec's own properties are in test_codec.py; this drives the whole path a
login takes (client, framing, checksum, resend, the connector's reading of the
answer) against a TCP server whose answers hypothesis writes. Bounded and
derandomized so the run stays short and the same each time.
"""

from __future__ import annotations

import socket
import threading
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broker.domain.connectors import ConnectorError
from broker.domain.patrons import PatronRecord
from broker.testing.sip2 import frames
from connectors.sip2.codec import parse_sip_date
from connectors.sip2.connector import Sip2Connector, Sip2Settings

CARD, PIN = "23000000000001", "1234"
BOUNDED = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                   suppress_health_check=list(HealthCheck))


class AnsweringServer:
    """Accepts logins; answers every other request with ``self.answer`` (set by the test)."""

    def __init__(self) -> None:
        self.answer = b"\r"
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            for frame in frames(conn):
                try:
                    conn.sendall(b"941\r" if frame.startswith(b"93") else self.answer)
                except OSError:
                    return

    def close(self) -> None:
        self.listener.close()


@pytest.fixture(scope="module")
def server():
    s = AnsweringServer()
    yield s
    s.close()


_FIELD = st.tuples(st.sampled_from(["AE", "BL", "CQ", "PB", "PA", "DE", "PC", "BE", "AF", "AQ", "ZZ"]),
                   st.text(st.characters(exclude_characters="|\r\n"), max_size=24))


@st.composite
def answers(draw) -> bytes:
    """A 64 or 24 answer with fuzzed fixed part and fields, or bytes of any kind; always ended by CR."""
    kind = draw(st.sampled_from(["64", "24", "raw"]))
    if kind == "raw":
        return draw(st.binary(max_size=200)).replace(b"\r", b"") + b"\r"
    length = 59 if kind == "64" else 35
    fixed = draw(st.text(st.sampled_from("Y N0123456789"), min_size=length, max_size=length))
    fields = draw(st.lists(_FIELD, max_size=8))
    body = kind + fixed + "".join(f"{fid}{value}|" for fid, value in fields)
    encoding = draw(st.sampled_from(["utf-8", "latin-1"]))
    return body.encode(encoding, "replace") + b"\r"


@pytest.mark.parametrize("sigb, lookup_message", [("koha", "63"), ("evergreen", "23")])
def test_any_answer_gives_a_patron_none_or_a_connector_error(server, sigb, lookup_message):
    connector = Sip2Connector(Sip2Settings.model_validate({
        "host": "127.0.0.1", "port": server.port, "login": "sesame", "password": "sesame", "institution": "X",
        "timeout": 0.5, "sigb": sigb, "lookup_message": lookup_message, "expiry_field": "PA"}))

    @BOUNDED
    @given(answer=answers(), with_pin=st.booleans())
    def run(answer: bytes, with_pin: bool) -> None:
        server.answer = answer
        try:
            result = connector.authenticate(CARD, PIN) if with_pin else connector.lookup(CARD)
        except ConnectorError as exc:
            assert PIN not in str(exc)
            return
        assert result is None or isinstance(result, PatronRecord)
        if with_pin:
            assert result is not None

    try:
        run()
    finally:
        connector.close()


@BOUNDED
@given(st.text(max_size=30))
def test_any_date_text_gives_a_date_none_or_value_error(value: str) -> None:
    try:
        result = parse_sip_date(value)
    except ValueError:
        return
    assert result is None or isinstance(result, date)
