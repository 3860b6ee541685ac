"""Suppliers' COUNTER figures per library: a member's report goes to its library; a network's is shared.

A report for the whole network is shared among the libraries whose patrons
used the supplier through Sésame that month, in proportion to their unique
patrons (``stats_supplier_months.unique_patrons``): a library whose patrons
were 10 % of the supplier's unique patrons is credited 10 % of each metric.

Rounding (largest remainder): each library first gets the whole part of its
exact share; the units left over go one each to the libraries with the largest
fractional parts (ties: by library code). The shares are whole numbers and add
up exactly to the network's figure. A month where the supplier reports usage
but Sésame saw nobody use it cannot be shared: it is listed as unattributed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from fractions import Fraction

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ...db.counter_models import CounterReport
from ...db.models import Library
from ...db.stats_models import StatsSupplierMonth

MEMBER = "member"
PRO_RATA = "prorata"
#: how each method is named on pages and in exports
METHOD_LABELS = {MEMBER: "rapporté par le fournisseur pour la bibliothèque",
                 PRO_RATA: "réparti au prorata des accès"}


@dataclass
class LibraryShare:
    metrics: dict[str, int] = field(default_factory=dict)
    methods: set[str] = field(default_factory=set)

    @property
    def method(self) -> str:
        return PRO_RATA if PRO_RATA in self.methods else MEMBER if self.methods else ""


@dataclass
class MonthAttribution:
    #: (library_id, supplier_id) → the library's share
    shares: dict[tuple[int, int], LibraryShare]
    #: supplier_id → metrics reported for the network that no access lets Sésame share
    unattributed: dict[int, dict[str, int]]


def largest_remainder(total: int, weights: dict[int, int], order: dict[int, str]) -> dict[int, int]:
    """``total`` split in proportion to ``weights`` into whole numbers summing to ``total``."""
    whole = sum(weights.values())
    if whole <= 0:
        raise ValueError("no weight to share by")
    exact = {k: Fraction(total * w, whole) for k, w in weights.items()}
    shares = {k: int(v) for k, v in exact.items()}  # floor: counts are ≥ 0
    left = total - sum(shares.values())
    for k in sorted(exact, key=lambda k: (-(exact[k] - shares[k]), order.get(k, ""), k))[:left]:
        shares[k] += 1
    return shares


def weights_of(session: Session, month: str, supplier_ids: set[int]) -> dict[int, dict[int, int]]:
    """``{supplier_id: {library_id: unique patrons}}`` of ``month``: what a network's report is shared by."""
    weights: dict[int, dict[int, int]] = defaultdict(dict)
    if not supplier_ids:
        return weights
    for row in session.scalars(select(StatsSupplierMonth).where(StatsSupplierMonth.month == month,
                                                                StatsSupplierMonth.supplier_id.in_(supplier_ids))):
        if row.library_id is not None and row.unique_patrons > 0:
            weights[row.supplier_id][row.library_id] = (weights[row.supplier_id].get(row.library_id, 0)
                                                        + row.unique_patrons)
    return weights


def attribute(session: Session, month: str) -> MonthAttribution:
    """Every supplier's COUNTER figures of ``month``, per library."""
    reports = list(session.scalars(select(CounterReport).where(CounterReport.month == month,
                                                               CounterReport.report_id == "PR")
                                   .options(selectinload(CounterReport.metrics))))
    harvested = {r.supplier_id for r in reports if r.source == "sushi"}
    # a supplier's harvested reports win over a file imported for the same month (never both counted)
    reports = [r for r in reports if r.source == "sushi" or r.supplier_id not in harvested]
    shares: dict[tuple[int, int], LibraryShare] = defaultdict(LibraryShare)
    unattributed: dict[int, dict[str, int]] = {}
    network_reports = [r for r in reports if r.library_id is None]
    weights = weights_of(session, month, {r.supplier_id for r in network_reports}) if network_reports else {}
    codes = {lib.id: lib.code for lib in session.scalars(select(Library))} if network_reports else {}
    for report in reports:
        totals = {m.metric: m.count for m in report.metrics}
        if report.library_id is not None:
            share = shares[(report.library_id, report.supplier_id)]
            share.methods.add(MEMBER)
            for metric, count in totals.items():
                share.metrics[metric] = share.metrics.get(metric, 0) + count
            continue
        by_library = weights.get(report.supplier_id, {})
        if not by_library:
            if any(totals.values()):
                into = unattributed.setdefault(report.supplier_id, {})
                for metric, count in totals.items():
                    into[metric] = into.get(metric, 0) + count
            continue
        for lid in by_library:
            shares[(lid, report.supplier_id)].methods.add(PRO_RATA)
        for metric, count in totals.items():
            for lid, part in largest_remainder(count, by_library, codes).items():
                share = shares[(lid, report.supplier_id)]
                share.metrics[metric] = share.metrics.get(metric, 0) + part
    return MonthAttribution(dict(shares), unattributed)
