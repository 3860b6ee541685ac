"""Outgoing e-mail through an outbox: queued with the change that causes it, sent by a sender that retries.

``queue`` adds the message to the outbox (table ``mail_outbox``) in the
caller's transaction, so a message exists exactly when its cause was
committed. With ``mail_send_at_once`` (the default) the request's process then
tries to send it right after the commit; whatever is not sent is retried by
``outbox.run_worker`` (a server's background thread) or ``broker mail
send-pending`` (cron). Nothing is queued when no SMTP host is set.
"""

from __future__ import annotations

from email.utils import make_msgid
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from ..db.mail_models import OutboxMessage

if TYPE_CHECKING:
    from ..runtime import Runtime

__all__ = ["queue"]


def queue(runtime: Runtime, session: Session, to: str | None, subject: str, body: str, *,
          library=None, network_id: int | None = None) -> None:
    """Queue a plain-text message, sent once ``session``'s transaction is committed.

    The admins of the network of ``library`` (or of ``network_id``) are told if the message cannot be sent.
    """
    settings = runtime.settings
    if not settings.smtp_host or not to:
        return
    if library is not None:
        network_id = library.partner.network_id
    row = OutboxMessage(state="pending", recipient=to, subject=subject[:300], body=body,
                        message_id=make_msgid(domain=urlsplit(settings.base_url).hostname or "sesame"),
                        network_id=network_id, attempts=0, next_attempt_at=runtime.clock.utcnow(), last_error="")
    session.add(row)
    if settings.mail_send_at_once:
        from .outbox import deliver

        # row.id is known once the transaction is committed (and the callbacks only run then)
        session.info.setdefault("after_commit", []).append(lambda: deliver(runtime, [row.id]))
