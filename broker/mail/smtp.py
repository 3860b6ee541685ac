"""The SMTP connection: verified TLS, credentials only over it, failures described without addresses.

Three modes (``smtp_tls``): ``starttls`` (plain connection upgraded with
STARTTLS; a server that does not offer it is refused), ``tls`` (implicit TLS,
"SMTPS") and ``none``. With TLS the server's certificate and host name are
always checked, against the system's certificate store or ``smtp_ca_file``.
Credentials are sent only over such a verified connection.
"""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from ..clock import as_utc
from ..errors import ConfigError

#: anything that looks like an e-mail address (servers echo recipients in their replies)
_ADDRESS = re.compile(r"[^\s<>\"'(),;:\[\]]+@[^\s<>\"'(),;:\[\]]+")


class SendError(Exception):
    """One attempt failed; ``text`` says why without addresses or secrets.

    ``setting`` names the setting to look at; ``connection`` is true when the
    server cannot be used at all (nothing more is tried in this run);
    ``permanent`` when retrying the same message cannot help (a 5xx refusal).
    """

    def __init__(self, text: str, *, setting: str = "smtp_host", connection: bool = True,
                 permanent: bool = False) -> None:
        super().__init__(text)
        self.text = text
        self.setting = setting
        self.connection = connection
        self.permanent = permanent


def tls_context(settings) -> ssl.SSLContext:
    """Certificate and host name checked; the system's CAs, or only those of ``smtp_ca_file``."""
    return ssl.create_default_context(cafile=settings.smtp_ca_file or None)


def scrub(text: str, settings) -> str:
    """``text`` without e-mail addresses or SMTP credentials, on one line, at most 300 characters."""
    text = _ADDRESS.sub("<address>", text)
    for secret in (settings.smtp_username, settings.smtp_password):
        if secret:
            text = text.replace(secret, "<secret>")
    return " ".join(text.split())[:300]


def _reply(exc: smtplib.SMTPResponseException, settings) -> str:
    message = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
    return scrub(f"{exc.smtp_code} {message}", settings)


def describe(exc: BaseException, settings) -> SendError:
    """The SendError for an exception raised while talking to the server."""
    if isinstance(exc, SendError):
        return exc
    if isinstance(exc, ssl.SSLCertVerificationError):
        return SendError(scrub(f"TLS: certificate verify failed: {exc.verify_message}", settings), setting="smtp_ca_file")
    if isinstance(exc, ssl.SSLError):
        return SendError(scrub(f"TLS: {exc.reason or exc}", settings), setting="smtp_tls")
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return SendError(f"authentication refused: {_reply(exc, settings)}", setting="smtp_username")
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return SendError(f"sender refused: {_reply(exc, settings)}", setting="mail_from")
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        replies = "; ".join(scrub(f"{code} {msg.decode('utf-8', 'replace') if isinstance(msg, bytes) else msg}", settings)
                            for code, msg in exc.recipients.values())
        return SendError(f"recipient refused: {replies}"[:300], connection=False,
                         permanent=bool(codes) and all(500 <= code < 600 for code in codes))
    if isinstance(exc, smtplib.SMTPDataError):
        code = exc.smtp_code
        return SendError(f"server refused the message: {_reply(exc, settings)}"[:300], connection=code == 421,
                         permanent=500 <= code < 600)
    if isinstance(exc, smtplib.SMTPResponseException):
        return SendError(f"server answered {_reply(exc, settings)}"[:300])
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return SendError(scrub(f"not supported by the server: {exc}", settings), setting="smtp_tls")
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return SendError("the server closed the connection")
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return SendError(f"no answer within {settings.smtp_timeout} s (smtp_timeout)")
    if isinstance(exc, socket.gaierror):
        return SendError(f"unknown host: {exc.strerror}")
    if isinstance(exc, OSError):
        return SendError(scrub(f"cannot connect: {exc.strerror or type(exc).__name__}", settings))
    return SendError(scrub(f"{type(exc).__name__}: {exc}", settings))


class Connection:
    """One SMTP session, opened at the first message and reused for the next ones."""

    def __init__(self, settings) -> None:
        self.settings = settings
        self.smtp: smtplib.SMTP | None = None

    def open(self) -> None:
        s = self.settings
        mode = s.effective_smtp_tls
        try:
            smtp: smtplib.SMTP
            if mode == "tls":
                smtp = smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout, context=tls_context(s))
            else:
                smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout)
            try:
                smtp.ehlo()
                if mode == "starttls":
                    if not smtp.has_extn("starttls"):
                        raise SendError("the server does not offer STARTTLS (smtp_tls = starttls)", setting="smtp_tls")
                    smtp.starttls(context=tls_context(s))
                    smtp.ehlo()
                if s.smtp_username:
                    # every TLS context here verifies the certificate: TLS means verified TLS
                    if not isinstance(smtp.sock, ssl.SSLSocket):
                        raise SendError("SMTP credentials are only sent over verified TLS", setting="smtp_username")
                    smtp.login(s.smtp_username, s.smtp_password)
            except BaseException:
                smtp.close()
                raise
        except Exception as exc:
            error = describe(exc, s)
            # whatever fails before a message is sent is about the server, never about a message
            error.connection, error.permanent = True, False
            raise error from None
        self.smtp = smtp

    def send(self, message: EmailMessage) -> None:
        """Send one message; SendError when it was not accepted."""
        if self.smtp is None:
            self.open()
        assert self.smtp is not None
        try:
            self.smtp.send_message(message)
        except smtplib.SMTPNotSupportedError:  # an address that needs SMTPUTF8, which the server lacks
            raise SendError("the server does not accept non-ASCII addresses (SMTPUTF8)", connection=False,
                            permanent=True) from None
        except Exception as exc:
            error = describe(exc, self.settings)
            if error.connection:
                self.close()
            raise error from None

    def close(self) -> None:
        if self.smtp is None:
            return
        try:
            self.smtp.quit()
        except (OSError, smtplib.SMTPException):
            self.smtp.close()
        self.smtp = None


def sender(settings, network_name: str = "") -> str:
    """The From header: ``mail_from``, in ``network_name``'s name when the message concerns a network."""
    configured = settings.effective_mail_from
    if not network_name:
        return configured
    return str(Address(display_name=network_name, addr_spec=parseaddr(configured)[1]))


def build_message(settings, *, to: str, subject: str, body: str, message_id: str, created_at,
                  network_name: str = "") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender(settings, network_name)
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(as_utc(created_at))
    msg["Message-ID"] = message_id
    msg.set_content(body)
    return msg


def check_connection(settings) -> None:
    """Connect, set up TLS and log in as a real sending would; ConfigError naming the setting at fault.

    Meant for a server's start: an unreachable or misconfigured SMTP server is
    one clear line, not a silent queue of messages that never leave.
    """
    if not settings.smtp_host:
        return
    conn = Connection(settings)
    try:
        conn.open()
    except SendError as exc:
        where = f"{settings.smtp_host}:{settings.smtp_port}, tls {settings.effective_smtp_tls}"
        raise ConfigError(exc.setting, f"cannot use the SMTP server ({where}): {exc.text}") from None
    finally:
        conn.close()
