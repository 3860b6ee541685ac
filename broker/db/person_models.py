"""A person: several library cards (patrons) that suppliers see as one.

Each card keeps its own pairwise identifiers (derived from its ``uid``). A
person keeps one subject per supplier sector: by default the one of its first
card (``seed_patron_id``), or, where ``person_subjects`` says so, the one
another of its cards already had. No table here holds a card number.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, _now


class Person(Base):
    __tablename__ = "persons"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the first card: its identifiers are the person's wherever no other card's are kept
    seed_patron_id: Mapped[int] = mapped_column(ForeignKey("patrons.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class PersonCard(Base):
    """One card of a person; a card belongs to one person at most."""

    __tablename__ = "person_cards"

    patron_id: Mapped[int] = mapped_column(ForeignKey("patrons.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    linked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    #: "patron", or the staff member or operator who linked it
    linked_by: Mapped[str] = mapped_column(String(254), default="patron")


class PersonSubject(Base):
    """For one supplier sector, the card whose identifier the person keeps (when it is not the first card's)."""

    __tablename__ = "person_subjects"

    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), primary_key=True)
    sector: Mapped[str] = mapped_column(String(200), primary_key=True)
    patron_id: Mapped[int] = mapped_column(ForeignKey("patrons.id"), index=True)
    #: several cards of the person had used this supplier: the patron may choose which history to keep
    contested: Mapped[bool] = mapped_column(Boolean, default=False)
    #: "link" (kept automatically when the card was linked) or "patron" (chosen by the patron)
    chosen_by: Mapped[str] = mapped_column(String(16), default="link")
    chosen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class PersonEvent(Base):
    """The person's history: cards linked and unlinked, identities kept."""

    __tablename__ = "person_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    actor: Mapped[str] = mapped_column(String(254))
    #: link, unlink, keep
    action: Mapped[str] = mapped_column(String(16))
    #: the card concerned (its patron row), when there is one
    patron_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: library code and last four characters of the card, the sector for "keep"
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
