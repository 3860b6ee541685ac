"""The emulator's bytes, checked by a minimal SIP2 client written here (not the project's codec)."""

from __future__ import annotations

import socket
import time
from datetime import date

import pytest

from broker.testing.sip2 import running_emulator

GOOD_CARD, GOOD_PIN = "23000000000001", "1234"


def with_checksum(text: str, seq: int) -> bytes:
    body = f"{text}AY{seq}AZ".encode()
    total = sum(body) & 0xFFFF
    return body + format((0x10000 - total) & 0xFFFF, "04X").encode() + b"\r"


def checksum_ok(frame: bytes) -> bool:
    body, given = frame[:-4], frame[-4:]
    return format((0x10000 - (sum(body) & 0xFFFF)) & 0xFFFF, "04X").encode() == given


class RawClient:
    """Speaks SIP2 with plain sockets and string slicing."""

    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.create_connection((host, port), timeout=3)
        self.pending = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read(self) -> bytes:
        while b"\r" not in self.pending:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("closed")
            self.pending += chunk
        frame, _, self.pending = self.pending.partition(b"\r")
        if self.pending.startswith(b"\n"):
            self.pending = self.pending[1:]
        return frame

    def ask(self, data: bytes) -> bytes:
        self.send(data)
        return self.read()

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def fields_of(frame: bytes, fixed_length: int) -> dict[str, str]:
    text = frame.decode("utf-8")[2 + fixed_length :]
    if "|AY" in text:
        text = text[: text.rindex("|AY") + 1]
    return {part[:2]: part[2:] for part in text.split("|") if part}


@pytest.fixture
def client(koha):
    with RawClient(koha.host, koha.port) as raw:
        yield raw


def login(raw: RawClient) -> None:
    assert raw.ask(b"9300CNsesame|COsesame|CPMAIN|\r") == b"941"


def test_login_right_and_wrong(koha) -> None:
    with RawClient(koha.host, koha.port) as raw:
        assert raw.ask(b"9300CNsesame|COwrong|\r") == b"940"
        assert raw.ask(b"9300CNsesame|COsesame|\r") == b"941"


def test_patron_information_with_right_pin(client) -> None:
    login(client)
    frame = client.ask(f"63001{'20240102    101500'}{' ' * 10}AOMAIN|AA{GOOD_CARD}|AD{GOOD_PIN}|\r".encode())
    assert frame[:2] == b"64"
    assert frame[2:16] == b" " * 14  # patron status: nothing denied
    assert frame[16:19] == b"001"  # language echoed
    date_field = frame[19:37].decode()
    assert date_field[:8].isdigit() and date_field[8:12] == "    " and date_field[12:].isdigit()
    assert frame[37:61] == b"0000" * 6
    fields = fields_of(frame, 59)
    assert fields["AA"] == GOOD_CARD
    assert fields["AE"] == "Élodie Martin"
    assert fields["BL"] == "Y" and fields["CQ"] == "Y"
    assert fields["BE"] == "elodie.martin@example.org"
    assert fields["PB"] == "19900402"
    assert fields["PC"] == "ADULTE"
    assert fields["DE"] == "2099-12-31"
    assert fields["AO"] == "MAIN"


def test_patron_information_with_wrong_pin(client) -> None:
    login(client)
    fields = fields_of(client.ask(f"63001{'20240102    101500'}{' ' * 10}AOMAIN|AA{GOOD_CARD}|AD0000|\r".encode()), 59)
    assert fields["BL"] == "Y" and fields["CQ"] == "N"
    assert "Invalid password" in fields["AF"]


def test_unknown_card_as_koha_answers_it(client) -> None:
    login(client)
    frame = client.ask(f"63001{'20240102    101500'}{' ' * 10}AOMAIN|AA999|AD0000|\r".encode())
    assert frame[2:16] == b"YYYY" + b" " * 10
    fields = fields_of(frame, 59)
    assert fields["BL"] == "N" and "CQ" not in fields
    assert fields["AF"] == "Invalid cardnumber"


def test_checksummed_exchange_echoes_the_sequence_number(client) -> None:
    assert client.ask(with_checksum("9300CNsesame|COsesame|", 1)).startswith(b"941AY1AZ")
    frame = client.ask(with_checksum(f"63001{'20240102    101500'}{' ' * 10}AOMAIN|AA{GOOD_CARD}|AD{GOOD_PIN}|", 2))
    assert b"|AY2AZ" in frame and checksum_ok(frame)
    assert fields_of(frame, 59)["CQ"] == "Y"


def test_wrong_checksum_gets_a_resend_request_and_the_connection_stays(client) -> None:
    login(client)
    frame = bytearray(with_checksum(f"63001{'20240102    101500'}{' ' * 10}AOMAIN|AA{GOOD_CARD}|", 3))
    frame[-2] = ord("0") if frame[-2] != ord("0") else ord("1")  # a checksum digit
    assert client.ask(bytes(frame)) == b"96AZFEF6"
    again = client.ask(with_checksum(f"63001{'20240102    101500'}{' ' * 10}AOMAIN|AA{GOOD_CARD}|", 3))
    assert again.startswith(b"64") and checksum_ok(again)


def test_resend_request_repeats_the_last_answer(client) -> None:
    login(client)
    first = client.ask(b"9900802.00\r")
    assert first.startswith(b"98")
    assert client.ask(b"97\r")[:8] == first[:8]


def test_crlf_requests_get_crlf_answers(koha) -> None:
    with socket.create_connection((koha.host, koha.port), timeout=3) as sock:
        sock.sendall(b"9300CNsesame|COsesame|\r\n")
        data = b""
        while not data.endswith(b"\n"):
            data += sock.recv(100)
        assert data == b"941\r\n"


def test_requests_before_login_close_the_connection(koha) -> None:
    with socket.create_connection((koha.host, koha.port), timeout=3) as sock:
        sock.sendall(b"9900802.00\r")
        assert sock.recv(100) == b""


def test_corrupt_frame_gets_96_while_another_client_goes_on(koha) -> None:
    other = RawClient(koha.host, koha.port)
    bad = RawClient(koha.host, koha.port)
    try:
        login(other)
        login(bad)
        assert bad.ask(b"64garbage\r") == b"96"
        assert bad.ask(b"\xff\xfe\x00\r") == b"96"
        assert bad.ask(b"Z" * 20_000 + b"\r") == b"96"
        assert other.ask(b"9900802.00\r").startswith(b"98Y")
        assert bad.ask(b"9900802.00\r").startswith(b"98Y")
    finally:
        other.close()
        bad.close()


def test_oversized_card_gets_an_answer_not_a_crash(client) -> None:
    login(client)
    frame = client.ask(f"63001{'20240102    101500'}{' ' * 10}AOMAIN|AA{'9' * 1000}|AD0000|\r".encode())
    fields = fields_of(frame, 59)
    assert fields["BL"] == "N" and len(fields["AA"]) == 255


def test_expired_lost_and_blocked_status_bits(client) -> None:
    login(client)

    def status(card: str) -> tuple[str, dict[str, str]]:
        frame = client.ask(f"63001{'20240102    101500'}{' ' * 10}AOMAIN|AA{card}|\r".encode())
        return frame[2:16].decode(), fields_of(frame, 59)

    expired, fields = status("23000000000002")
    assert expired[:4] == "YYYY" and expired[4] == " " and "expired" in fields["AF"]
    assert date.fromisoformat(fields["DE"]) < date.today()
    lost, _ = status("23000000000003")
    assert lost[4] == "Y"
    blocked, fields = status("23000000000004")
    assert blocked[:4] == "YYYY" and blocked[4] == " " and fields["AF"] == "Amendes impayées"


def test_evergreen_answers_unknown_card_and_wrong_pin_alike(patrons_csv) -> None:
    with (running_emulator(patrons_csv, flavour="evergreen") as evergreen,
          RawClient(evergreen.host, evergreen.port) as raw):
        login(raw)
        head = f"63001{'20240102    101500'}{' ' * 10}AOMAIN|"
        unknown = raw.ask(f"{head}AA999|AD0000|\r".encode())
        wrong = raw.ask(f"{head}AA{GOOD_CARD}|AD0000|\r".encode())
        assert fields_of(unknown, 59)["BL"] == fields_of(wrong, 59)["BL"] == "N"
        assert fields_of(unknown, 59)["CQ"] == fields_of(wrong, 59)["CQ"] == "N"
        assert unknown[2:16] == wrong[2:16]
        right = fields_of(raw.ask(f"{head}AA{GOOD_CARD}|AD{GOOD_PIN}|\r".encode()), 59)
        assert right["BL"] == "Y" and right["CQ"] == "Y"
        assert right["PA"] == "20991231" and right["PB"] == "19900402"
        assert "DE" not in right


def test_delay_slows_answers(patrons_csv) -> None:
    with running_emulator(patrons_csv, delay_ms=150) as slow, RawClient(slow.host, slow.port) as raw:
        started = time.monotonic()
        login(raw)
        assert time.monotonic() - started >= 0.14


def test_fail_rate_one_drops_every_request(patrons_csv) -> None:
    with running_emulator(patrons_csv, fail_rate=1.0) as failing:
        with RawClient(failing.host, failing.port) as raw, pytest.raises((ConnectionError, OSError)):
            raw.ask(b"9300CNsesame|COsesame|\r")
        assert failing.stats.dropped == 1
