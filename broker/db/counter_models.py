"""Suppliers' own usage figures (COUNTER reports), harvested over SUSHI or imported from their files.

A supplier's SUSHI account is one row of ``sushi_accounts`` (the API key encrypted
with the instance key). Its consortium members (``/members``) are mapped once to
libraries. Each stored report is one supplier × month × customer: the customer is
either a member mapped to a library, or the network as a whole (``library_id``
None), whose figures are shared among libraries when read (see
``services/counter/attribution.py``). Only totals per COUNTER metric are kept.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, _now


class SushiAccount(Base):
    """How Sésame harvests one supplier's COUNTER reports over SUSHI."""

    __tablename__ = "sushi_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id", ondelete="CASCADE"), unique=True)
    url: Mapped[str] = mapped_column(String(500))
    customer_id: Mapped[str] = mapped_column(String(200))
    requestor_id: Mapped[str] = mapped_column(String(200), default="")
    #: the API key, encrypted with the instance key (None: the server needs none)
    api_key_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    #: COUNTER release the server speaks: "5" (5.0) or "5.1"
    release: Mapped[str] = mapped_column(String(8), default="5.1")
    platform: Mapped[str] = mapped_column(String(200), default="")
    #: outcome of the last harvest: "", ok, pending, fault, credentials, rejected
    last_status: Mapped[str] = mapped_column(String(16), default="")
    last_error: Mapped[str] = mapped_column(Text, default="")
    last_harvest_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    #: no harvest before this moment (the server asked to back off: 1011, 1020)
    retry_after: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, onupdate=_now)


class SushiMember(Base):
    """One consortium member a supplier knows (``/members``), and the library it is."""

    __tablename__ = "sushi_members"
    __table_args__ = (UniqueConstraint("supplier_id", "customer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(300), default="")
    #: the library suggested by name or identifier, until an admin confirms one
    suggested_library_id: Mapped[int | None] = mapped_column(ForeignKey("libraries.id"), nullable=True)
    library_id: Mapped[int | None] = mapped_column(ForeignKey("libraries.id"), nullable=True)
    confirmed_by: Mapped[str] = mapped_column(String(254), default="")


class CounterReport(Base):
    """One supplier's usage for one month and one customer (a member, or the whole network)."""

    __tablename__ = "counter_reports"
    __table_args__ = (UniqueConstraint("supplier_id", "month", "customer_id", "report_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id", ondelete="CASCADE"), index=True)
    month: Mapped[str] = mapped_column(String(7), index=True)
    customer_id: Mapped[str] = mapped_column(String(200))
    #: the member's library; None: the report covers the whole network (shared pro rata of accesses)
    library_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    report_id: Mapped[str] = mapped_column(String(8), default="PR")
    release: Mapped[str] = mapped_column(String(8), default="5.1")
    platform: Mapped[str] = mapped_column(String(200), default="")
    #: sushi or file
    source: Mapped[str] = mapped_column(String(8), default="sushi")
    #: complete, or no_usage (exception 3030: recorded as zero)
    status: Mapped[str] = mapped_column(String(16), default="complete")
    harvested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    final: Mapped[bool] = mapped_column(Boolean, default=True)

    metrics: Mapped[list[CounterMetric]] = relationship(cascade="all, delete-orphan", back_populates="report",
                                                        order_by="CounterMetric.metric")


class CounterMetric(Base):
    """A COUNTER metric's total in a report (e.g. Total_Item_Requests), over its data types."""

    __tablename__ = "counter_metrics"
    __table_args__ = (UniqueConstraint("report_id", "metric"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("counter_reports.id", ondelete="CASCADE"), index=True)
    metric: Mapped[str] = mapped_column(String(64))
    count: Mapped[int] = mapped_column(BigInteger, default=0)

    report: Mapped[CounterReport] = relationship(back_populates="metrics")


#: the master reports harvested beside PR, and the metric columns an item (database, title, item) keeps
ITEM_REPORTS = ("DR", "TR", "IR")
ITEM_METRICS = ("Total_Item_Requests", "Unique_Item_Requests", "Unique_Title_Requests", "Total_Item_Investigations",
                "Unique_Item_Investigations", "Unique_Title_Investigations", "Searches_Regular",
                "Searches_Automated", "Searches_Federated", "Limit_Exceeded", "No_License")


class SushiReportState(Base):
    """Whether a supplier's SUSHI server offers one report (``/reports``), and how its last harvest went."""

    __tablename__ = "sushi_report_states"
    __table_args__ = (UniqueConstraint("supplier_id", "report_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id", ondelete="CASCADE"), index=True)
    #: PR, DR, TR or IR
    report_id: Mapped[str] = mapped_column(String(8))
    offered: Mapped[bool] = mapped_column(Boolean, default=False)
    #: "", ok, pending, rejected, unsupported (and the supplier-wide backoff, credentials, fault)
    last_status: Mapped[str] = mapped_column(String(16), default="")
    last_error: Mapped[str] = mapped_column(Text, default="")
    last_harvest_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class CounterItem(Base):
    """One database (DR), title (TR) or item (IR) of a stored report, with its metrics for the month.

    Rows of the report for the same item (data types, years of publication, access
    types) are summed; text and data mining (``Access_Method`` TDM) is left out,
    as in the platform report. A metric the report does not give is None.
    """

    __tablename__ = "counter_items"
    __table_args__ = (UniqueConstraint("report_id", "item_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("counter_reports.id", ondelete="CASCADE"), index=True)
    #: stable across months: the first standard identifier (``DOI:…``, ``ISBN:…``), else the name
    item_key: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(500), default="")
    #: the parent title of an item (IR), when the report gives it
    parent: Mapped[str] = mapped_column(String(500), default="")
    publisher: Mapped[str] = mapped_column(String(300), default="")
    platform: Mapped[str] = mapped_column(String(200), default="")
    #: the item's identifiers as JSON: {"DOI": "…", "ISBN": "…", "Proprietary": "…"}
    identifiers: Mapped[str] = mapped_column(Text, default="{}")
    #: the COUNTER data types seen for it, joined with "|"
    data_types: Mapped[str] = mapped_column(String(200), default="")
    total_item_requests: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    unique_item_requests: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    unique_title_requests: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    total_item_investigations: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    unique_item_investigations: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    unique_title_investigations: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    searches_regular: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    searches_automated: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    searches_federated: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    limit_exceeded: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    no_license: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    @property
    def metrics(self) -> dict[str, int]:
        """The metrics the report gave, by their COUNTER names."""
        return {m: v for m in ITEM_METRICS if (v := getattr(self, m.lower())) is not None}
