"""The instance's stable secrets: values derived once and kept, so that the instance secret may rotate."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, _now


class InstanceSecret(Base):
    """One stable value (``broker.crypto.STABLE``: pairwise identifiers, card digests…), encrypted.

    Written once per instance and name; ``broker secrets rotate`` encrypts it again under the
    newest instance secret, the value itself never changes.
    """

    __tablename__ = "instance_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
