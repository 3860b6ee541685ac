"""SIP2 frames: encoding and decoding of 3M SIP2 2.00 messages, with error detection.

A message is a two-digit identifier, a fixed-length part whose length depends
on the identifier, then variable fields ``XXvalue|``. With error detection a
frame ends with ``AY<sequence digit>AZ<checksum>``: the checksum is the two's
complement of the 16-bit sum of every byte before it, ``AZ`` included, written
as four upper-case hexadecimal digits. Frames end with CR (or CR LF).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import date, datetime

#: Length of the fixed part of every message this codec knows (SIP2 2.00).
FIXED_LENGTHS: dict[str, int] = {
    "01": 19,  # block patron: card retained(1) + date(18)
    "17": 18,  # item information: date
    "18": 24,  # item information response: 2+2+2 + date
    "23": 21,  # patron status request: language(3) + date(18)
    "24": 35,  # patron status response: status(14) + language(3) + date(18)
    "25": 18,  # patron enable: date
    "26": 35,  # patron enable response: as 24
    "35": 18,  # end patron session: date
    "36": 19,  # end session response: end session(1) + date(18)
    "63": 31,  # patron information: language(3) + date(18) + summary(10)
    "64": 59,  # patron information response: status(14) + language(3) + date(18) + 6 counts(4)
    "93": 2,  # login: uid algorithm(1) + pwd algorithm(1)
    "94": 1,  # login response: ok(1)
    "96": 0,  # request SC resend
    "97": 0,  # request ACS resend
    "98": 34,  # ACS status: 6 flags + timeout(3) + retries(3) + date(18) + version(4)
    "99": 8,  # SC status: status(1) + print width(3) + version(4)
}

#: Variable fields longer than this are refused when encoding (the spec's limit).
MAX_FIELD_LENGTH = 255
#: A frame longer than this (bytes, terminator excluded) is refused.
MAX_FRAME_LENGTH = 16_384

_FIELD_ID = re.compile(r"[A-Z]{2}\Z")
_TRAILER = re.compile(r"(?:AY([0-9]))?AZ([0-9A-Fa-f]{4})\Z")
_FORBIDDEN = re.compile(r"[\r\n|]")


class Sip2CodecError(ValueError):
    """A frame cannot be encoded or decoded; ``raw`` holds the offending frame, if any."""

    def __init__(self, message: str, raw: bytes | None = None) -> None:
        super().__init__(message)
        self.raw = raw


class Sip2ChecksumError(Sip2CodecError):
    """A frame's AZ checksum is wrong or missing when error detection is on."""


@dataclass(frozen=True, slots=True)
class Message:
    """One SIP2 message: identifier, fixed-length part, ordered variable fields."""

    code: str
    fixed: str = ""
    fields: tuple[tuple[str, str], ...] = ()
    sequence: int | None = None

    def get(self, field_id: str, default: str | None = None) -> str | None:
        """The first value of a variable field, or ``default``."""
        for fid, value in self.fields:
            if fid == field_id:
                return value
        return default

    def get_all(self, field_id: str) -> list[str]:
        """Every value of a repeatable field, in order."""
        return [value for fid, value in self.fields if fid == field_id]


def checksum(data: bytes) -> str:
    """The SIP2 checksum of ``data`` (everything up to and including ``AZ``)."""
    return f"{(-sum(data)) & 0xFFFF:04X}"


def encode(
    message: Message,
    *,
    encoding: str = "utf-8",
    error_detection: bool = False,
    terminator: str = "\r",
    errors: str = "strict",
) -> bytes:
    """Turn a message into the bytes of one frame, terminator included.

    With ``error_detection`` the frame carries ``AY<sequence>`` (when the
    message has a sequence number) and ``AZ<checksum>``. Field values are
    never quoted in error messages: they may hold a PIN.
    """
    code, fixed = message.code, message.fixed
    expected = FIXED_LENGTHS.get(code)
    if expected is None:
        raise Sip2CodecError(f"unknown SIP2 message identifier {code!r}")
    if len(fixed) != expected:
        raise Sip2CodecError(f"message {code}: fixed part is {len(fixed)} characters, expected {expected}")
    if "\r" in fixed or "\n" in fixed:
        raise Sip2CodecError(f"message {code}: fixed part contains a line break")
    parts = [code, fixed]
    for fid, value in message.fields:
        if not _FIELD_ID.match(fid):
            raise Sip2CodecError(f"message {code}: invalid field identifier {fid!r}")
        if len(value) > MAX_FIELD_LENGTH:
            raise Sip2CodecError(f"message {code}: field {fid} is longer than {MAX_FIELD_LENGTH} characters")
        if _FORBIDDEN.search(value):
            raise Sip2CodecError(f"message {code}: field {fid} contains '|' or a line break")
        parts += (fid, value, "|")
    try:
        data = "".join(parts).encode(encoding, errors)
    except UnicodeEncodeError:
        raise Sip2CodecError(f"message {code}: a value cannot be written in {encoding}") from None
    if error_detection:
        seq = message.sequence
        if seq is not None:
            if not 0 <= seq <= 9:
                raise Sip2CodecError(f"sequence number {seq} is not a digit")
            data += b"AY%dAZ" % seq
        else:
            data += b"AZ"
        data += checksum(data).encode("ascii")
    return data + terminator.encode("ascii")


def decode_frame(
    frame: bytes, *, encoding: str = "utf-8", require_checksum: bool = False
) -> tuple[Message, bool]:
    """Parse one frame; return the message and whether it carried a checksum.

    Raises :class:`Sip2CodecError` (or :class:`Sip2ChecksumError`) for
    anything that is not a well-formed SIP2 message: never another exception.
    """
    body = frame
    if body.endswith(b"\r\n"):
        body = body[:-2]
    elif body.endswith((b"\r", b"\n")):
        body = body[:-1]
    if len(body) > MAX_FRAME_LENGTH:
        raise Sip2CodecError(f"frame of {len(body)} bytes exceeds {MAX_FRAME_LENGTH}", frame)
    if b"\r" in body or b"\n" in body:
        raise Sip2CodecError("line break inside a frame", frame)
    try:
        text = body.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        raise Sip2CodecError(f"frame is not valid {encoding}", frame) from None
    code = text[:2]
    length = FIXED_LENGTHS.get(code)
    if length is None:
        raise Sip2CodecError(f"unknown SIP2 message identifier {code!r}", frame)
    if len(text) < 2 + length:
        raise Sip2CodecError(f"message {code} truncated: fixed part shorter than {length} characters", frame)
    fixed, rest = text[2 : 2 + length], text[2 + length :]
    sequence = None
    checksummed = False
    match = _TRAILER.search(rest)
    if match and (match.start() == 0 or rest[match.start() - 1] == "|"):
        if checksum(body[:-4]) != match.group(2).upper():
            raise Sip2ChecksumError(f"message {code}: wrong checksum", frame)
        checksummed = True
        if match.group(1) is not None:
            sequence = int(match.group(1))
        rest = rest[: match.start()]
    elif require_checksum:
        raise Sip2ChecksumError(f"message {code}: no checksum although error detection is on", frame)
    fields: list[tuple[str, str]] = []
    if rest:
        pieces = rest.split("|")
        if pieces[-1] == "":
            pieces.pop()
        for piece in pieces:
            fid = piece[:2]
            if not _FIELD_ID.match(fid):
                raise Sip2CodecError(f"message {code}: malformed variable field", frame)
            fields.append((fid, piece[2:]))
    return Message(code, fixed, tuple(fields), sequence), checksummed


def decode(frame: bytes, *, encoding: str = "utf-8", require_checksum: bool = False) -> Message:
    """Parse one frame into a :class:`Message` (see :func:`decode_frame`)."""
    return decode_frame(frame, encoding=encoding, require_checksum=require_checksum)[0]


class FrameBuffer:
    """Cuts a byte stream into frames ended by CR, CR LF or LF.

    ``feed`` returns the complete frames with the terminator each one used,
    so that a server can answer with the same. A frame growing past the limit
    is reported once as an empty frame; its bytes are dropped up to the next
    terminator so that the stream can go on.
    """

    __slots__ = ("_buf", "_limit", "_skipping")

    def __init__(self, limit: int = MAX_FRAME_LENGTH) -> None:
        self._buf = bytearray()
        self._limit = limit
        self._skipping = False

    def feed(self, data: bytes) -> list[tuple[bytes, bytes]]:
        """Add received bytes; return the frames now complete, each with its terminator.

        A frame that overflowed the limit is returned as ``(b"", b"")``.
        """
        buf = self._buf
        buf += data
        frames: list[tuple[bytes, bytes]] = []
        while True:
            cr = buf.find(b"\r")
            lf = buf.find(b"\n")
            if cr < 0 and lf < 0:
                break
            end = cr if lf < 0 or (0 <= cr < lf) else lf
            width = 2 if buf[end : end + 2] == b"\r\n" else 1
            frame = bytes(buf[:end])
            terminator = bytes(buf[end : end + width])
            del buf[: end + width]
            if self._skipping:
                self._skipping = False
                continue
            if frame:
                frames.append((frame, terminator))
        if len(buf) > self._limit:
            buf.clear()
            self._skipping = True
            frames.append((b"", b""))
        return frames

    @property
    def pending(self) -> int:
        """Bytes received that do not yet form a frame."""
        return len(self._buf)

    def partial(self) -> bytes:
        """The bytes of the frame begun but not ended (for error messages)."""
        return bytes(self._buf)


def sip_datetime(moment: float | None = None) -> str:
    """A SIP2 date-time field: ``YYYYMMDD    HHMMSS`` (local time, blank zone)."""
    return time.strftime("%Y%m%d    %H%M%S", time.localtime(moment))


def parse_sip_date(value: str) -> date | None:
    """Read a date as SIGBs write it: ``YYYYMMDD``, ``YYYY-MM-DD`` or a SIP2 date-time.

    Empty values and all-zero dates give None; anything else unreadable
    raises ValueError.
    """
    value = value.strip()
    if not value or set(value) <= {"0", "-", " "}:
        return None
    if len(value) == 10 and value[4] == "-" and value[7] == "-":
        return date.fromisoformat(value)
    if len(value) >= 8 and value[:8].isdigit() and (len(value) == 8 or len(value) == 18):
        return datetime.strptime(value[:8], "%Y%m%d").date()
    if len(value) > 10 and value[10] in "T ":
        return date.fromisoformat(value[:10])
    raise ValueError(f"unreadable date {value!r}")
