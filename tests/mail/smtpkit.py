"""Real SMTP servers for the mail tests: aiosmtpd with STARTTLS or implicit TLS on a certificate made here."""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from broker.clock import utcnow


@dataclass
class Pki:
    """A private certificate authority and a server certificate it signed for 127.0.0.1 and localhost."""

    ca_file: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert_file, self.key_file)
        return ctx


def make_pki(folder: Path) -> Pki:
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Sésame test mail CA")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(hours=1))
          .not_valid_after(now + timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(ca_ski, critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
            .sign(ca_key, hashes.SHA256()))
    folder.mkdir(parents=True, exist_ok=True)
    pki = Pki(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    pki.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    pki.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pki.key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    return pki


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
