"""The SIP2 codec: round trips, checksums, framing, and any bytes giving a message or a clean error."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.sip2.codec import (
    FIXED_LENGTHS,
    MAX_FIELD_LENGTH,
    FrameBuffer,
    Message,
    Sip2ChecksumError,
    Sip2CodecError,
    checksum,
    decode,
    decode_frame,
    encode,
    parse_sip_date,
)

ENCODINGS = ["utf-8", "cp850", "latin-1"]


def independent_checksum(data: bytes) -> str:
    total = 0
    for byte in data:
        total = (total + byte) & 0xFFFF
    return format((0x10000 - total) & 0xFFFF, "04X")


# Characters every tested encoding can carry, minus the frame's own separators.
_TEXT = st.text(
    alphabet=st.characters(codec="latin-1", exclude_characters="|\r\n"), max_size=40
)


@st.composite
def messages(draw: st.DrawFn) -> Message:
    code = draw(st.sampled_from(sorted(FIXED_LENGTHS)))
    fixed = draw(
        st.text(alphabet="0123456789YN |AZ", min_size=FIXED_LENGTHS[code], max_size=FIXED_LENGTHS[code])
    )
    fields = draw(
        st.lists(st.tuples(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2, max_size=2), _TEXT), max_size=8)
    )
    sequence = draw(st.none() | st.integers(0, 9))
    return Message(code, fixed, tuple(fields), sequence)


@settings(max_examples=300, deadline=None)
@given(messages(), st.sampled_from(["utf-8", "latin-1"]), st.sampled_from(["\r", "\r\n"]))
def test_what_is_encoded_decodes_back_with_error_detection(message: Message, encoding: str, terminator: str) -> None:
    frame = encode(message, encoding=encoding, error_detection=True, terminator=terminator)
    assert decode(frame, encoding=encoding, require_checksum=True) == message


@settings(max_examples=300, deadline=None)
@given(messages(), st.sampled_from(["utf-8", "latin-1"]))
def test_what_is_encoded_decodes_back_without_error_detection(message: Message, encoding: str) -> None:
    frame = encode(message, encoding=encoding)
    decoded = decode(frame, encoding=encoding)
    assert decoded == Message(message.code, message.fixed, message.fields, None)


@settings(max_examples=1000, deadline=None)
@given(st.binary(max_size=300), st.sampled_from(ENCODINGS), st.booleans())
def test_any_bytes_give_a_message_or_a_clean_error(data: bytes, encoding: str, require: bool) -> None:
    try:
        message = decode(data, encoding=encoding, require_checksum=require)
    except Sip2CodecError:
        return
    assert message.code in FIXED_LENGTHS
    assert len(message.fixed) == FIXED_LENGTHS[message.code]


@settings(max_examples=300, deadline=None)
@given(messages(), st.data())
def test_a_changed_byte_is_caught_by_the_checksum_or_refused(message: Message, data: st.DataObject) -> None:
    frame = bytearray(encode(message, encoding="latin-1", error_detection=True, terminator=""))
    index = data.draw(st.integers(0, len(frame) - 1))
    frame[index] = (frame[index] + data.draw(st.integers(1, 255))) % 256
    try:
        decoded = decode(bytes(frame), encoding="latin-1", require_checksum=True)
    except Sip2CodecError:
        return
    # The one change a checksum may accept: the case of a hex letter in the checksum itself
    # (readers accept lower-case checksums); the message read back is then the same.
    original = encode(message, encoding="latin-1", error_detection=True, terminator="")
    changed_checksum_case = index >= len(frame) - 4 and bytes(frame).upper() == original.upper()
    if not (changed_checksum_case and decoded == message):
        pytest.fail(f"corrupted frame accepted: {decoded}")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=60), max_size=8))
def test_frame_buffer_never_loses_or_invents_frames(chunks: list[bytes]) -> None:
    stream = b"".join(chunks)
    buffer = FrameBuffer(limit=10_000)
    frames = [frame for chunk in chunks for frame, _ in buffer.feed(chunk)]
    expected = [part for part in stream.replace(b"\r\n", b"\r").replace(b"\n", b"\r").split(b"\r")[:-1] if part]
    assert frames == expected


def test_checksum_matches_the_spec_resend_example() -> None:
    assert checksum(b"96AZ") == "FEF6"
    assert encode(Message("96"), error_detection=True) == b"96AZFEF6\r"


def test_checksum_agrees_with_an_independent_sum() -> None:
    frame = encode(
        Message("63", "001" + "20240101    120000" + " " * 10, (("AO", "INST"), ("AA", "123"), ("AD", "9999")), 3),
        error_detection=True,
        terminator="",
    )
    assert frame.endswith(independent_checksum(frame[:-4]).encode())
    assert b"AY3AZ" in frame


def test_lower_case_checksum_is_accepted() -> None:
    frame = encode(Message("94", "1", (), 1), error_detection=True, terminator="")
    assert decode(frame[:-4] + frame[-4:].lower(), require_checksum=True).fixed == "1"


def test_wrong_checksum_is_refused_with_the_raw_frame() -> None:
    with pytest.raises(Sip2ChecksumError) as refused:
        decode(b"941AY1AZ0000\r")
    assert refused.value.raw == b"941AY1AZ0000\r"


def test_missing_checksum_is_refused_when_required() -> None:
    with pytest.raises(Sip2ChecksumError):
        decode(b"941\r", require_checksum=True)
    assert decode(b"941\r").fixed == "1"


@pytest.mark.parametrize(
    "frame, reason",
    [
        (b"", "unknown"),
        (b"9", "unknown"),
        (b"XX123", "unknown"),
        (b"64  ", "truncated"),
        (b"941|\x00", "malformed"),
        (b"941AEok|A|", "malformed"),
        (b"941ae|", "malformed"),
        (b"94\r1\r", "line break"),
        (b"941AE\xff\xfe|", "utf-8"),
        (b"9" * 20_000, "exceeds"),
    ],
)
def test_malformed_frames_get_a_precise_error(frame: bytes, reason: str) -> None:
    with pytest.raises(Sip2CodecError) as refused:
        decode(frame)
    assert reason in str(refused.value)


def test_bytes_valid_in_one_encoding_only() -> None:
    frame = "941AEÉlodie|".encode("latin-1")
    assert decode(frame, encoding="latin-1").get("AE") == "Élodie"
    assert decode(frame, encoding="cp850").get("AE") == frame[5:11].decode("cp850")
    with pytest.raises(Sip2CodecError, match="not valid utf-8"):
        decode(frame, encoding="utf-8")


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_accented_names_round_trip_in_each_encoding(encoding: str) -> None:
    message = Message("94", "1", (("AE", "Françoise Noël"),))
    assert decode(encode(message, encoding=encoding), encoding=encoding) == message


def test_encoding_refuses_values_the_frame_cannot_carry() -> None:
    with pytest.raises(Sip2CodecError, match="AD"):
        encode(Message("94", "1", (("AD", "12|34"),)))
    with pytest.raises(Sip2CodecError, match="longer"):
        encode(Message("94", "1", (("AA", "1" * (MAX_FIELD_LENGTH + 1)),)))
    with pytest.raises(Sip2CodecError, match="cp850"):
        encode(Message("94", "1", (("AD", "€uro"),)), encoding="cp850")
    with pytest.raises(Sip2CodecError, match="fixed part"):
        encode(Message("94", "10"))
    with pytest.raises(Sip2CodecError, match="identifier"):
        encode(Message("42", ""))


def test_secrets_never_appear_in_codec_errors() -> None:
    with pytest.raises(Sip2CodecError) as refused:
        encode(Message("94", "1", (("AD", "s3cr3t|"),)))
    assert "s3cr3t" not in str(refused.value)


def test_decode_reports_whether_the_frame_was_checksummed() -> None:
    assert decode_frame(b"941\r") == (Message("94", "1"), False)
    message, checksummed = decode_frame(encode(Message("94", "1", (), 2), error_detection=True))
    assert checksummed and message.sequence == 2


def test_frame_buffer_handles_cr_crlf_lf_and_split_terminators() -> None:
    buffer = FrameBuffer()
    assert buffer.feed(b"941\r") == [(b"941", b"\r")]
    assert buffer.feed(b"940\r") == [(b"940", b"\r")]
    assert buffer.feed(b"\n941\r\n94") == [(b"941", b"\r\n")]
    assert buffer.feed(b"1\n") == [(b"941", b"\n")]
    assert buffer.pending == 0


def test_frame_buffer_reports_an_oversized_frame_once_and_recovers() -> None:
    buffer = FrameBuffer(limit=10)
    assert buffer.feed(b"9" * 11) == [(b"", b"")]
    assert buffer.feed(b"999\r941\r") == [(b"941", b"\r")]


@pytest.mark.parametrize(
    "value, expected",
    [
        ("20991231", date(2099, 12, 31)),
        ("2099-12-31", date(2099, 12, 31)),
        ("20991231    235959", date(2099, 12, 31)),
        ("2099-12-31T10:00:00", date(2099, 12, 31)),
        ("", None),
        ("00000000", None),
        ("0000-00-00", None),
    ],
)
def test_dates_as_sigbs_write_them(value: str, expected: date | None) -> None:
    assert parse_sip_date(value) == expected


@pytest.mark.parametrize("value", ["31/12/2099", "20991331", "tomorrow", "2099-02-30"])
def test_unreadable_dates_raise_value_error(value: str) -> None:
    with pytest.raises(ValueError):
        parse_sip_date(value)
