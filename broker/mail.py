"""Outgoing e-mail through SMTP (smtplib); nothing is sent when no SMTP host is set."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

log = logging.getLogger("broker.mail")


def send(settings, to: str, subject: str, body: str) -> bool:
    """Send one plain-text message; False (and a log line without the address) when it fails."""
    if not settings.smtp_host or not to:
        return False
    msg = EmailMessage()
    msg["From"] = settings.smtp_sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain="sesame")
    msg.set_content(body)
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_username:
                smtp.login(settings.smtp_username, settings.smtp_password)
            smtp.send_message(msg)
        return True
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("e-mail not sent: %s", type(exc).__name__)
        return False


def after_commit(session, settings, to: str | None, subject: str, body: str) -> None:
    """Queue a message to be sent once the session's transaction is committed."""
    if to:
        session.info.setdefault("after_commit", []).append(lambda: send(settings, to, subject, body))
