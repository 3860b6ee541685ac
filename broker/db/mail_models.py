"""The outbox of outgoing e-mail: a message is queued in the transaction that causes it, then sent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, _now


class OutboxMessage(Base):
    """One e-mail to send: ``pending`` until sent (``sent``) or given up (``failed``).

    The recipient's address and the text are personal data: both are blanked as
    soon as the message is sent; only the subject and the dates stay, for
    ``mail_keep_days``. A sender claims a row (``claimed_by`` until
    ``claimed_until``) with a conditional UPDATE before sending it, so that two
    senders never send the same message.
    """

    __tablename__ = "mail_outbox"
    __table_args__ = (Index("ix_mail_outbox_due", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: pending → sent | failed (a failed message may be put back to pending by an admin)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    recipient: Mapped[str] = mapped_column(String(254), default="")
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    #: Message-ID header, the same at every attempt (receivers may drop a duplicate)
    message_id: Mapped[str] = mapped_column(String(200))
    #: the network whose admins see the message if it fails (none: every admin)
    network_id: Mapped[int | None] = mapped_column(ForeignKey("networks.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    #: why the last attempt failed, without addresses or secrets
    last_error: Mapped[str] = mapped_column(String(300), default="")
    claimed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    failed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
