"""A SIP2 client over TCP or TLS: pooled, logged-in connections with a deadline on every call.

Each connection logs in (93/94) when it opens. A connection that the server
dropped while idle in the pool is replaced and logged in again transparently;
any failure in the middle of an exchange discards the connection, since a late
answer would otherwise be read as the answer to the next request.
"""

from __future__ import annotations

import logging
import re
import select
import socket
import ssl
import threading
import time
from collections import deque
from dataclasses import dataclass, field, replace

from broker.clock import SYSTEM, Clock
from broker.domain.connectors import ConnectorProtocolError, ConnectorUnavailable

from .codec import MAX_FRAME_LENGTH, FrameBuffer, Message, Sip2ChecksumError, Sip2CodecError, decode, encode
from .fields import LOCATION, LOGIN_PASSWORD, LOGIN_USER

log = logging.getLogger("connectors.sip2")

_SECRET_RAW = re.compile(rb"(AD|AC|CO)[^|\r\n]*")
_CARD_RAW = re.compile(rb"AA([^|\r\n]*)")


def redact(raw: bytes | None, limit: int = 400) -> str:
    """A SIGB answer fit for an error message: cards masked, secrets removed, bytes escaped."""
    if not raw:
        return ""

    def mask(match: re.Match[bytes]) -> bytes:
        card = match.group(1)
        return b"AA" + b"*" * max(len(card) - 4, 0) + card[-4:] if len(card) > 4 else b"AA****"

    cleaned = _CARD_RAW.sub(mask, _SECRET_RAW.sub(rb"\1***", raw[:limit]))
    text = cleaned.decode("latin-1").encode("unicode_escape").decode("ascii")
    return text + ("…" if len(raw) > limit else "")


class Sip2LoginRefused(ConnectorUnavailable):
    """The SIP2 server refused Sésame's login (93): the library's SIP2 account is misconfigured."""


class _ConnectionDropped(Exception):
    """The server closed the connection before answering."""


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """How to reach and talk to one SIP2 server."""

    host: str
    port: int
    login: str
    password: str = field(repr=False)
    location: str | None = None
    timeout: float = 5.0
    encoding: str = "utf-8"
    error_detection: bool = False
    terminator: str = "\r"
    tls: bool = False
    tls_verify: bool = True
    tls_ca_file: str | None = None
    pool_size: int = 4
    max_idle: float = 50.0

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


class Deadline:
    """The time left for one whole operation (connect, login, request, answer)."""

    __slots__ = ("end", "total", "address")

    def __init__(self, seconds: float, address: str) -> None:
        self.total = seconds
        self.end = time.monotonic() + seconds
        self.address = address

    def remaining(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise self.expired()
        return left

    def expired(self) -> ConnectorUnavailable:
        return ConnectorUnavailable(f"SIP2 server {self.address} did not answer within {self.total:g} s")


def _tls_context(config: ClientConfig) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=config.tls_ca_file)
    if not config.tls_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class Sip2Connection:
    """One logged-in connection; used by one thread at a time."""

    def __init__(self, config: ClientConfig, sock: socket.socket) -> None:
        self.config = config
        self.sock = sock
        self.frames = FrameBuffer()
        self.sequence = 0
        self.last_used = time.monotonic()

    @classmethod
    def open(cls, config: ClientConfig, deadline: Deadline) -> Sip2Connection:
        """Connect (TLS if configured) and log in; raise ConnectorUnavailable on failure."""
        try:
            sock = socket.create_connection((config.host, config.port), timeout=deadline.remaining())
        except ConnectorUnavailable:
            raise
        except TimeoutError:
            raise deadline.expired() from None
        except ConnectionRefusedError:
            raise ConnectorUnavailable(f"SIP2 server {config.address} refused the connection") from None
        except OSError as exc:
            raise ConnectorUnavailable(f"cannot reach SIP2 server {config.address}: {exc.strerror or exc}") from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            if config.tls:
                sock.settimeout(deadline.remaining())
                sock = _tls_context(config).wrap_socket(sock, server_hostname=config.host)
            connection = cls(config, sock)
            connection.login(deadline)
        except _ConnectionDropped:
            sock.close()
            raise ConnectorUnavailable(f"SIP2 server {config.address} closed the connection during login") from None
        except ssl.SSLError as exc:
            sock.close()
            raise ConnectorUnavailable(f"TLS handshake with SIP2 server {config.address} failed: {exc}") from None
        except TimeoutError:
            sock.close()
            raise deadline.expired() from None
        except OSError as exc:
            sock.close()
            raise ConnectorUnavailable(f"SIP2 server {config.address}: {exc.strerror or exc}") from None
        except BaseException:
            sock.close()
            raise
        return connection

    def login(self, deadline: Deadline) -> None:
        fields = [(LOGIN_USER, self.config.login), (LOGIN_PASSWORD, self.config.password)]
        if self.config.location:
            fields.append((LOCATION, self.config.location))
        answer = self.exchange(Message("93", "00", tuple(fields)), "94", deadline)
        if answer.fixed != "1":
            raise Sip2LoginRefused(
                f"SIP2 server {self.config.address} refused the login of account {self.config.login!r}"
            )
        log.debug("sip2 login ok on %s", self.config.address)

    def exchange(self, message: Message, expect: str, deadline: Deadline) -> Message:
        """Send a request and return its answer, handling resend requests and checksums once."""
        config = self.config
        if config.error_detection:
            message = replace(message, sequence=self.sequence)
            self.sequence = (self.sequence + 1) % 10
        frame = self._encode(message)
        self._send(frame, deadline)
        resent = asked = False
        while True:
            raw = self._receive(deadline)
            try:
                answer = decode(raw, encoding=config.encoding, require_checksum=config.error_detection)
            except Sip2ChecksumError as exc:
                if asked:
                    raise ConnectorProtocolError(f"SIP2 answer from {config.address}: {exc}", redact(raw)) from None
                asked = True
                self._send(self._encode(Message("97")), deadline)
                continue
            except Sip2CodecError as exc:
                raise ConnectorProtocolError(f"SIP2 answer from {config.address}: {exc}", redact(raw)) from None
            if answer.code == "96" and not resent:
                resent = True
                self._send(frame, deadline)
                continue
            if answer.code != expect:
                raise ConnectorProtocolError(
                    f"SIP2 server {config.address} answered message {answer.code} to {message.code}"
                    f" (expected {expect})",
                    redact(raw),
                )
            if config.error_detection and answer.sequence is not None and answer.sequence != message.sequence:
                raise ConnectorProtocolError(
                    f"SIP2 answer from {config.address} carries sequence {answer.sequence},"
                    f" expected {message.sequence}",
                    redact(raw),
                )
            self.last_used = time.monotonic()
            return answer

    def _encode(self, message: Message) -> bytes:
        config = self.config
        try:
            return encode(
                message, encoding=config.encoding, error_detection=config.error_detection, terminator=config.terminator
            )
        except Sip2CodecError as exc:
            # Only the library's own settings can get here: patron input is checked before.
            raise ConnectorUnavailable(f"cannot write a SIP2 request for {config.address}: {exc}") from None

    def _send(self, frame: bytes, deadline: Deadline) -> None:
        try:
            self.sock.settimeout(deadline.remaining())
            self.sock.sendall(frame)
        except TimeoutError:
            raise deadline.expired() from None
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            raise _ConnectionDropped() from None
        except ssl.SSLError as exc:
            raise ConnectorUnavailable(f"TLS error with SIP2 server {self.config.address}: {exc}") from None
        except OSError as exc:
            raise ConnectorUnavailable(f"SIP2 server {self.config.address}: {exc}") from None

    def _receive(self, deadline: Deadline) -> bytes:
        address = self.config.address
        while True:
            try:
                self.sock.settimeout(deadline.remaining())
                data = self.sock.recv(65536)
            except (ConnectorUnavailable, TimeoutError):
                if self.frames.pending:
                    raise ConnectorProtocolError(
                        f"SIP2 server {address} sent an incomplete answer and then nothing within {deadline.total:g} s",
                        redact(self.frames.partial()),
                    ) from None
                raise deadline.expired() from None
            except (ConnectionResetError, ConnectionAbortedError):
                raise _ConnectionDropped() from None
            except ssl.SSLError as exc:
                raise ConnectorUnavailable(f"TLS error with SIP2 server {address}: {exc}") from None
            except OSError as exc:
                raise ConnectorUnavailable(f"SIP2 server {address}: {exc}") from None
            if not data:
                if self.frames.pending:
                    raise ConnectorProtocolError(
                        f"SIP2 server {address} closed the connection in the middle of an answer",
                        redact(self.frames.partial()),
                    )
                raise _ConnectionDropped()
            frames = self.frames.feed(data)
            if frames:
                if frames[0][0] == b"":
                    raise ConnectorProtocolError(
                        f"SIP2 server {self.config.address} sent an answer longer than {MAX_FRAME_LENGTH} bytes"
                    )
                if len(frames) > 1 or self.frames.pending:
                    raise ConnectorProtocolError(
                        f"SIP2 server {self.config.address} sent more than one answer", redact(data)
                    )
                return frames[0][0]

    def is_stale(self, now: float) -> bool:
        """True when the connection idled too long or the server wrote to it (or closed it) meanwhile."""
        if now - self.last_used > self.config.max_idle:
            return True
        if isinstance(self.sock, ssl.SSLSocket) and self.sock.pending():
            return True
        try:
            # poll, not select: select cannot watch descriptors above 1023 in a busy worker
            poller = select.poll()
            poller.register(self.sock, select.POLLIN)
            return bool(poller.poll(0))
        except (OSError, ValueError):
            return True

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


class Sip2Pool:
    """A bounded pool of logged-in connections to one SIP2 server; thread-safe."""

    def __init__(self, config: ClientConfig, *, clock: Clock | None = None) -> None:
        self.config = config
        #: the broker's clock, for how long a connection has been idle (deadlines stay on the real clock)
        self.clock: Clock = clock or SYSTEM
        self._idle: deque[Sip2Connection] = deque()
        self._open = 0
        self._cond = threading.Condition()
        self._closed = False
        #: how many connections were opened (and logged in) since the pool was made
        self.logins = 0

    def request(self, message: Message, expect: str) -> Message:
        """Send one request and return its answer within the configured timeout.

        Raises ConnectorUnavailable (timeout, refused, dropped, pool busy) or
        ConnectorProtocolError (garbage, half answers, wrong checksums).
        """
        deadline = Deadline(self.config.timeout, self.config.address)
        for attempt in (1, 2):
            connection, reused = self._acquire(deadline)
            try:
                answer = connection.exchange(message, expect, deadline)
            except _ConnectionDropped:
                self._discard(connection)
                if reused and attempt == 1:
                    log.info("sip2 connection to %s was dropped; reconnecting", self.config.address)
                    continue
                raise ConnectorUnavailable(
                    f"SIP2 server {self.config.address} closed the connection without answering"
                ) from None
            except BaseException:
                self._discard(connection)
                raise
            self._release(connection)
            return answer
        raise AssertionError("unreachable")

    def _acquire(self, deadline: Deadline) -> tuple[Sip2Connection, bool]:
        with self._cond:
            while True:
                if self._closed:
                    raise ConnectorUnavailable("SIP2 connector is closed")
                now = self.clock.monotonic()
                while self._idle:
                    connection = self._idle.pop()
                    if connection.is_stale(now):
                        connection.close()
                        self._open -= 1
                        continue
                    return connection, True
                if self._open < self.config.pool_size:
                    self._open += 1
                    break
                left = deadline.end - time.monotonic()
                if left <= 0 or not self._cond.wait(left):  # noqa: SIM102  (the wait is a step of its own)
                    if not self._idle and self._open >= self.config.pool_size:
                        raise ConnectorUnavailable(
                            f"all {self.config.pool_size} connections to SIP2 server {self.config.address}"
                            f" stayed busy for {deadline.total:g} s"
                        )
        try:
            connection = Sip2Connection.open(self.config, deadline)
        except BaseException:
            with self._cond:
                self._open -= 1
                self._cond.notify()
            raise
        with self._cond:
            self.logins += 1
        return connection, False

    def _release(self, connection: Sip2Connection) -> None:
        with self._cond:
            if self._closed:
                connection.close()
                self._open -= 1
            else:
                connection.last_used = self.clock.monotonic()
                self._idle.append(connection)
            self._cond.notify()

    def _discard(self, connection: Sip2Connection) -> None:
        connection.close()
        with self._cond:
            self._open -= 1
            self._cond.notify()

    def close(self) -> None:
        """Close every idle connection; connections in use close when released."""
        with self._cond:
            self._closed = True
            while self._idle:
                self._idle.pop().close()
                self._open -= 1
            self._cond.notify_all()
