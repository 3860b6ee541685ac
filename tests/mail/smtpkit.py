"""Real SMTP servers for the mail tests: aiosmtpd with STARTTLS or implicit TLS on a test PKI (broker.testing.tls)."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from broker.clock import utcnow
from broker.testing.tls import Pki


@dataclass
class Received:
    """What a server saw: messages, and every AUTH attempt with whether it came over TLS."""

    messages: list = field(default_factory=list)
    logins: list = field(default_factory=list)
    arrival: threading.Condition = field(default_factory=threading.Condition)

    def message_ids(self) -> list[str]:
        return [m["Message-ID"] for m in self.messages]

    def add(self, message) -> None:
        with self.arrival:
            self.messages.append(message)
            self.arrival.notify_all()

    def wait_for(self, count: int, timeout: float = 30) -> bool:
        """Until ``count`` messages have arrived (woken by each arrival, never polling); False on timeout."""
        with self.arrival:
            return self.arrival.wait_for(lambda: len(self.messages) >= count, timeout)


class _Handler:
    def __init__(self, received: Received, refuse_rcpt: str | None, delay: float) -> None:
        self.received = received
        self.refuse_rcpt = refuse_rcpt
        self.delay = delay

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse_rcpt:
            return self.refuse_rcpt.format(address=address)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)  # a server that takes its time (lets two senders overlap)
        self.received.add(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


class SmtpServer:
    """An aiosmtpd server on ``port``: mode starttls, tls (implicit) or none; optional AUTH; stop and start again."""

    def __init__(self, port: int, *, mode: str = "none", pki: Pki | None = None, auth: bool = False,
                 refuse_rcpt: str | None = None, delay: float = 0.0) -> None:
        self.port = port
        self.mode = mode
        self.pki = pki
        self.auth = auth
        self.received = Received()
        self.handler = _Handler(self.received, refuse_rcpt, delay)
        self.controller: Controller | None = None

    def _authenticator(self, server, session, envelope, mechanism, auth_data):
        self.received.logins.append({"login": auth_data.login.decode(), "tls": session.ssl is not None})
        return AuthResult(success=True)

    def start(self) -> SmtpServer:
        kwargs: dict = {}
        if self.mode == "starttls":
            kwargs.update(tls_context=self.pki.server_context(), require_starttls=False)
        elif self.mode == "tls":
            kwargs.update(ssl_context=self.pki.server_context())
        if self.auth:
            kwargs.update(authenticator=self._authenticator, auth_require_tls=False)
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **kwargs)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


class Clock:
    """A clock the test moves by hand. It starts at the wall clock's time when first read, so that
    what was queued before (stamped with the wall clock) is due; then only ``advance`` moves it."""

    def __init__(self) -> None:
        self.now: datetime | None = None

    def __call__(self) -> datetime:
        if self.now is None:
            self.now = utcnow()
        return self.now

    def advance(self, seconds: float) -> None:
        self.now = self() + timedelta(seconds=seconds)
