"""Tables of the staff back-office: card numbers of registrations awaiting a referent's decision."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, _now


class PendingCard(Base):
    """The card number of a pending registration, encrypted, so the referent can look it up in the SIGB.

    Sésame otherwise keeps only a digest and a hint of a card; this row exists
    only while the registration waits and is deleted as soon as it is decided.
    """

    __tablename__ = "pending_cards"

    membership_id: Mapped[int] = mapped_column(ForeignKey("memberships.id", ondelete="CASCADE"), primary_key=True)
    card_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
