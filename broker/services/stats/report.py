"""The yearly report of one partner: what its fee bought, library by library and supplier by supplier.

Meant to be printed and handed to a town or community council: the fee for
the year, the members at the end of it, accesses per supplier and per month.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ...db.models import Library, Partner
from ...errors import NotFound
from ...wording import sort_key, sorted_names
from .. import validation
from ..network import FeeLine, fees_for_year
from .figures import MonthFigures, Selection, figures, supplier_counter
from .months import months_of_year


@dataclass(frozen=True)
class LibraryYear:
    code: str
    name: str
    accesses: int
    registrations: int
    validated: int
    active_end: int
    #: accesses per month, in the order of PartnerReport.months
    monthly: list[int] = field(hash=False)
    unique_monthly: list[int] = field(hash=False)


@dataclass(frozen=True)
class SupplierYear:
    slug: str
    name: str
    monthly: list[int] = field(hash=False)

    @property
    def total(self) -> int:
        return sum(self.monthly)


@dataclass(frozen=True)
class PartnerReport:
    partner_slug: str
    partner_name: str
    partner_kind: str
    population: int
    network_name: str
    year: int
    fee: FeeLine | None
    months: list[str] = field(hash=False)
    libraries: list[LibraryYear] = field(hash=False)
    suppliers: list[SupplierYear] = field(hash=False)
    #: libraries of the partner left out because the reader may not see them
    hidden_libraries: int = 0
    months_missing: list[str] = field(default_factory=list, hash=False)
    #: the suppliers' own COUNTER figures for the year: [{"slug", "name", "metrics", "methods"}]
    supplier_metrics: list[dict] = field(default_factory=list, hash=False)

    @property
    def accesses(self) -> int:
        return sum(lib.accesses for lib in self.libraries)

    @property
    def members(self) -> int:
        return sum(lib.active_end for lib in self.libraries)

    @property
    def registrations(self) -> int:
        return sum(lib.registrations for lib in self.libraries)

    @property
    def monthly_totals(self) -> list[int]:
        return [sum(lib.monthly[i] for lib in self.libraries) for i in range(len(self.months))]

    @property
    def unique_monthly_totals(self) -> list[int]:
        """Distinct patrons per month: a patron belongs to one library, so the sum counts nobody twice."""
        return [sum(lib.unique_monthly[i] for lib in self.libraries) for i in range(len(self.months))]

    @property
    def cost_per_access(self):
        """The fee over the accesses; None when some libraries are left out (the fee is the whole partner's)."""
        if self.fee is None or not self.accesses or self.hidden_libraries:
            return None
        return (self.fee.fee / self.accesses).quantize(Decimal("0.01"))


def get_partner(session: Session, slug: str) -> Partner:
    validation.slug(slug, "partner")
    partner = session.scalar(select(Partner).where(Partner.slug == slug).options(
        selectinload(Partner.network), selectinload(Partner.libraries).selectinload(Library.partner)
        .selectinload(Partner.network)))
    if partner is None:
        raise NotFound(f"unknown partner '{slug}'", code="unknown_partner")
    return partner


def partner_report(session: Session, partner: Partner, year: int, *,
                   visible: set[int] | None = None, now: datetime | None = None) -> PartnerReport:
    """The report for ``year`` (up to ``now``); ``visible`` limits it to those library ids (None: all the partner's)."""
    months = months_of_year(year, now)
    libs = sorted_names(partner.libraries, key=lambda lib: lib.name)
    shown = [lib for lib in libs if visible is None or lib.id in visible]
    fee = next((line for line in fees_for_year(session, year, partner.network.slug) if line.partner == partner.slug),
               None)
    per_library: list[LibraryYear] = []
    suppliers: dict[str, tuple[str, list[int]]] = {}
    aggregated: set[str] = set()
    counter: dict[str, dict] = {}
    for lib in shown:
        monthly: list[MonthFigures] = figures(session, Selection(network=partner.network, library=lib), months)
        aggregated.update(str(f.month) for f in monthly if f.aggregated)
        last = next((f for f in reversed(monthly) if f.aggregated), None)
        per_library.append(LibraryYear(
            lib.code, lib.name, accesses=sum(f.totals["accesses"] for f in monthly),
            registrations=sum(f.totals["registrations"] for f in monthly),
            validated=sum(f.totals["validated"] for f in monthly),
            active_end=last.totals["active_end"] if last else 0,
            monthly=[f.totals["accesses"] for f in monthly], unique_monthly=[f.totals["unique_patrons"] for f in monthly],
        ))
        for index, f in enumerate(monthly):
            for s in f.suppliers:
                entry = suppliers.setdefault(s.slug, (s.name, [0] * len(months)))
                entry[1][index] += s.accesses
            for row in supplier_counter(f):
                total = counter.setdefault(row["slug"], {"slug": row["slug"], "name": row["name"], "metrics": {},
                                                         "methods": []})
                for metric, count in row["metrics"].items():
                    total["metrics"][metric] = total["metrics"].get(metric, 0) + count
                total["methods"] += [m for m in row["methods"] if m not in total["methods"]]
    return PartnerReport(
        partner_slug=partner.slug, partner_name=partner.name, partner_kind=partner.kind,
        population=partner.population, network_name=partner.network.name, year=year, fee=fee,
        months=[str(m) for m in months], libraries=per_library,
        suppliers=sorted((SupplierYear(slug, name, values) for slug, (name, values) in suppliers.items()),
                         key=lambda s: (-s.total, sort_key(s.name))),
        hidden_libraries=len(libs) - len(shown),
        months_missing=[str(m) for m in months if str(m) not in aggregated and shown],
        supplier_metrics=sorted(counter.values(), key=lambda e: e["name"]),
    )
