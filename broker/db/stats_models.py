"""Tables of the monthly statistics: counts only, never a patron key.

Raw usage events (``usage_events``) carry a pseudonymous key per patron; the
tables below keep only what was counted per month, so that once the raw events
are purged nothing links a figure to a person.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, Index, Integer, String
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from .base import Base


class StatsMonth(Base):
    """One month's aggregation: when it ran, on which events, and whether it may still change."""

    __tablename__ = "stats_months"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: highest usage / membership event id the computation saw (a newer computation wins)
    usage_mark: Mapped[int] = mapped_column(BigInteger, default=0)
    membership_mark: Mapped[int] = mapped_column(BigInteger, default=0)
    #: raw usage events of the month that were read
    usage_events: Mapped[int] = mapped_column(BigInteger, default=0)
    #: computed after the month was over: its raw events may then be purged
    final: Mapped[bool] = mapped_column(Boolean, default=False)
    #: raw events purged (all or some): the figures are kept as they are, never recomputed
    sealed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class StatsCursor(Base):
    """How far the incremental aggregation has read a source table (by id)."""

    __tablename__ = "stats_cursors"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, default=0)


class MonthCounts:
    """The first columns of a table of counts per month (``id``, ``month``, ``network_id``), and its index by
    month and library."""

    __tablename__: str

    # sort_order: these columns come first in the table, before those of the class
    id: Mapped[int] = mapped_column(primary_key=True, sort_order=-1)
    month: Mapped[str] = mapped_column(String(7), sort_order=-1)
    network_id: Mapped[int | None] = mapped_column(Integer, nullable=True, sort_order=-1)

    @declared_attr.directive
    def __table_args__(cls) -> tuple:
        return (Index(f"ix_{cls.__tablename__}_month_library", "month", "library_id"),)


class StatsSupplierMonth(MonthCounts, Base):
    """Granted accesses to one supplier by the patrons of one library in one month."""

    __tablename__ = "stats_supplier_months"

    library_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    supplier_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: COUNTER Total_Item_Requests: granted accesses, a double click (≤ 30 s) counted once
    accesses: Mapped[int] = mapped_column(Integer, default=0)
    #: distinct patrons in the month (counted, never stored)
    unique_patrons: Mapped[int] = mapped_column(Integer, default=0)


class StatsRefusalMonth(MonthCounts, Base):
    """Refused access attempts in one month, by reason code."""

    __tablename__ = "stats_refusal_months"

    library_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    supplier_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reason: Mapped[str] = mapped_column(String(32))
    refusals: Mapped[int] = mapped_column(Integer, default=0)


class StatsLibraryMonth(MonthCounts, Base):
    """One library's month: usage over every supplier, registrations and members."""

    __tablename__ = "stats_library_months"

    library_id: Mapped[int] = mapped_column(Integer)
    accesses: Mapped[int] = mapped_column(Integer, default=0)
    #: distinct patrons who reached at least one supplier (not the sum over suppliers)
    unique_patrons: Mapped[int] = mapped_column(Integer, default=0)
    refusals: Mapped[int] = mapped_column(Integer, default=0)
    registrations: Mapped[int] = mapped_column(Integer, default=0)
    validated: Mapped[int] = mapped_column(Integer, default=0)
    refused: Mapped[int] = mapped_column(Integer, default=0)
    pending_end: Mapped[int] = mapped_column(Integer, default=0)
    active_end: Mapped[int] = mapped_column(Integer, default=0)
