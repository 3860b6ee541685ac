"""Reading the monthly figures back: for a library, a network or everything, one month or several.

Network and all-libraries totals of unique patrons are sums over libraries:
a patron belongs to one library, so those sums count nobody twice. Across
suppliers they are not sums: the library rows hold the distinct count.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, true
from sqlalchemy.orm import Session, selectinload

from ...db.models import Library, Network, Partner, Supplier
from ...db.stats_models import StatsLibraryMonth, StatsMonth, StatsRefusalMonth, StatsSupplierMonth
from ...errors import InvalidInput, NotFound
from ...wording import sorted_names
from .. import validation
from .months import Month

LIBRARY_FIGURES = ("accesses", "unique_patrons", "refusals", "registrations", "validated", "refused",
                   "pending_end", "active_end")


@dataclass(frozen=True)
class Selection:
    """What a set of figures covers: one library, one network, or every library (network and library None)."""

    network: Network | None = None
    library: Library | None = None

    @property
    def label(self) -> str:
        if self.library is not None:
            return self.library.name
        if self.network is not None:
            return self.network.name
        return "Sésame"

    @property
    def slug(self) -> str:
        if self.library is not None:
            return self.library.code
        return self.network.slug if self.network is not None else "all"

    def where(self, table):
        if self.library is not None:
            return table.library_id == self.library.id
        if self.network is not None:
            return table.network_id == self.network.id
        return true()


def select_scope(session: Session, *, network: str | None = None, library: str | None = None) -> Selection:
    """The selection named by a network slug and/or a library code (NotFound when unknown)."""
    lib = net = None
    if network:
        validation.slug(network, "network")
        net = session.scalar(select(Network).where(Network.slug == network))
        if net is None:
            raise NotFound(f"unknown network '{network}'", code="unknown_network")
    if library:
        validation.library_code(library)
        lib = session.scalar(select(Library).where(Library.code == library).options(
            selectinload(Library.partner).selectinload(Partner.network)))
        if lib is None:
            raise NotFound(f"unknown library '{library}'", code="unknown_library")
        if net is not None and lib.partner.network_id != net.id:
            raise InvalidInput(f"library '{library}' is not in network '{network}'", code="library_not_in_network")
        net = lib.partner.network
    return Selection(network=net, library=lib)


@dataclass(frozen=True)
class SupplierLine:
    supplier_id: int | None
    slug: str
    name: str
    accesses: int = 0
    unique_patrons: int = 0
    refusals: int = 0


@dataclass(frozen=True)
class LibraryLine:
    library_id: int
    code: str
    name: str
    network: str
    figures: dict[str, int] = field(hash=False)


@dataclass(frozen=True)
class DetailLine:
    """One library × supplier of a month: what the exports list."""

    month: str
    network: str
    library_code: str
    library_name: str
    supplier: str
    supplier_name: str
    accesses: int
    unique_patrons: int
    refusals: int
    #: the supplier's own COUNTER metrics for the library (services/counter/attribution.py)
    counter: dict[str, int] = field(default_factory=dict, hash=False, compare=False)
    #: how they were obtained: "member" (reported for the library) or "prorata" (shared); "" without any
    counter_method: str = ""


@dataclass(frozen=True)
class MonthFigures:
    """Everything shown for one month of a selection."""

    month: Month
    computed_at: datetime | None
    final: bool
    sealed: bool
    totals: dict[str, int] = field(hash=False)
    suppliers: list[SupplierLine] = field(hash=False)
    libraries: list[LibraryLine] = field(hash=False)
    refusals: dict[str, int] = field(hash=False)
    details: list[DetailLine] = field(hash=False)
    refusal_details: list[dict] = field(hash=False)
    #: supplier slug → COUNTER metrics reported for the network in a month when Sésame saw no access to share them by
    counter_unattributed: dict[str, dict[str, int]] = field(default_factory=dict, hash=False)

    @property
    def aggregated(self) -> bool:
        return self.computed_at is not None


class _Names:
    """Ids → codes and names, loaded once per call (a few hundred rows at most)."""

    def __init__(self, session: Session) -> None:
        self.libraries = {lib.id: lib for lib in session.scalars(
            select(Library).options(selectinload(Library.partner).selectinload(Partner.network)))}
        self.suppliers = {s.id: s for s in session.scalars(select(Supplier))}
        self.networks = {n.id: n for n in session.scalars(select(Network))}

    def library(self, lid: int | None) -> tuple[str, str]:
        lib = self.libraries.get(lid)
        return (lib.code, lib.name) if lib is not None else (_unknown(lid), _unknown(lid))

    def network_of_library(self, lid: int | None) -> str:
        lib = self.libraries.get(lid)
        return lib.partner.network.slug if lib is not None else ""

    def supplier(self, sid: int | None) -> tuple[str, str]:
        sup = self.suppliers.get(sid)
        return (sup.slug, sup.name) if sup is not None else (_unknown(sid), _unknown(sid))

    def network(self, nid: int | None) -> str:
        net = self.networks.get(nid)
        return net.slug if net is not None else _unknown(nid)


def _unknown(ident: int | None) -> str:
    """What stands for the code or name of a row that is gone: ``#id``; nothing where there was no id."""
    return "" if ident is None else f"#{ident}"


def _libraries_of(session: Session, selection: Selection) -> list[Library]:
    if selection.library is not None:
        return [selection.library]
    query = select(Library).join(Partner)
    if selection.network is not None:
        query = query.where(Partner.network_id == selection.network.id)
    return sorted_names(session.scalars(query), key=lambda lib: lib.name)


def _suppliers_of(session: Session, selection: Selection) -> list[Supplier]:
    suppliers = sorted_names(session.scalars(select(Supplier).options(selectinload(Supplier.networks))),
                             key=lambda s: s.name)
    if selection.network is None:
        return suppliers
    return [s for s in suppliers if any(n.id == selection.network.id for n in s.networks)]


def figures(session: Session, selection: Selection, months: list[Month]) -> list[MonthFigures]:
    """The figures of ``months`` (in that order) for ``selection``; a month not aggregated shows zeros."""
    keys = [str(m) for m in months]
    names = _Names(session)
    status = {row.month: row for row in session.scalars(select(StatsMonth).where(StatsMonth.month.in_(keys)))}
    sup_rows = defaultdict(list)
    for row in session.scalars(select(StatsSupplierMonth).where(StatsSupplierMonth.month.in_(keys),
                                                                selection.where(StatsSupplierMonth))):
        sup_rows[row.month].append(row)
    ref_rows = defaultdict(list)
    for row in session.scalars(select(StatsRefusalMonth).where(StatsRefusalMonth.month.in_(keys),
                                                               selection.where(StatsRefusalMonth))):
        ref_rows[row.month].append(row)
    lib_rows = defaultdict(list)
    for row in session.scalars(select(StatsLibraryMonth).where(StatsLibraryMonth.month.in_(keys),
                                                               selection.where(StatsLibraryMonth))):
        lib_rows[row.month].append(row)
    libraries = _libraries_of(session, selection)
    offered = _suppliers_of(session, selection)
    from ..counter.attribution import attribute

    return [_one_month(m, status.get(str(m)), sup_rows[str(m)], ref_rows[str(m)], lib_rows[str(m)],
                       libraries, offered, names, attribute(session, str(m)), selection) for m in months]


def _one_month(month: Month, status, sup_rows, ref_rows, lib_rows, libraries, offered, names: _Names,
               counter=None, selection: Selection | None = None) -> MonthFigures:
    per_supplier: dict[int | None, dict[str, int]] = defaultdict(lambda: {"accesses": 0, "unique_patrons": 0,
                                                                         "refusals": 0})
    detail: dict[tuple, dict[str, int]] = defaultdict(lambda: {"accesses": 0, "unique_patrons": 0, "refusals": 0})
    for r in sup_rows:
        per_supplier[r.supplier_id]["accesses"] += r.accesses
        per_supplier[r.supplier_id]["unique_patrons"] += r.unique_patrons
        d = detail[(r.network_id, r.library_id, r.supplier_id)]
        d["accesses"] += r.accesses
        d["unique_patrons"] += r.unique_patrons
    reasons: dict[str, int] = defaultdict(int)
    for r in ref_rows:
        reasons[r.reason] += r.refusals
        if r.supplier_id is not None:
            per_supplier[r.supplier_id]["refusals"] += r.refusals
        detail[(r.network_id, r.library_id, r.supplier_id)]["refusals"] += r.refusals
    suppliers = [SupplierLine(s.id, s.slug, s.name, **per_supplier.pop(s.id, {})) for s in offered]
    for sid, values in sorted(per_supplier.items(), key=lambda kv: (kv[0] is None, kv[0] or 0)):
        if sid is not None:  # a supplier that left the bundle but was used that month
            slug, name = names.supplier(sid)
            suppliers.append(SupplierLine(sid, slug, name, **values))
    by_library = {r.library_id: r for r in lib_rows}
    lines = []
    for lib in libraries:
        row = by_library.pop(lib.id, None)
        lines.append(LibraryLine(lib.id, lib.code, lib.name, names.network_of_library(lib.id),
                                 {k: (getattr(row, k) if row else 0) for k in LIBRARY_FIGURES}))
    for lid, row in sorted(by_library.items()):  # a library that moved or was removed since
        code, name = names.library(lid)
        lines.append(LibraryLine(lid, code, name, names.network(row.network_id), {k: getattr(row, k) for k in LIBRARY_FIGURES}))
    totals = {k: sum(line.figures[k] for line in lines) for k in LIBRARY_FIGURES}
    # refusals without a library (unknown patron or supplier) count in the selection's total
    totals["refusals"] = sum(reasons.values())
    shares: dict[tuple, object] = {}
    unattributed: dict[str, dict[str, int]] = {}
    if counter is not None:
        in_selection = {lib.id for lib in libraries}
        for (lid, sid), share in counter.shares.items():
            lib = names.libraries.get(lid)
            if lid in in_selection and lib is not None:
                key = (lib.partner.network_id, lid, sid)
                detail[key]  # a library with the supplier's figures but no access through Sésame still shows
                shares[key] = share
        offered_ids = {s.id for s in offered}
        for sid, metrics in counter.unattributed.items():
            if selection is None or selection.library is None and sid in offered_ids:
                unattributed[names.supplier(sid)[0]] = dict(metrics)
    details = []
    for (nid, lid, sid), values in detail.items():
        code, lname = names.library(lid)
        slug, sname = names.supplier(sid)
        share = shares.get((nid, lid, sid))
        details.append(DetailLine(str(month), names.network(nid), code, lname, slug, sname, **values,
                                  counter=dict(share.metrics) if share else {},
                                  counter_method=share.method if share else ""))
    details.sort(key=lambda d: (d.network, d.library_code, d.supplier))
    refusal_details = sorted(
        ({"month": str(month), "network": names.network(r.network_id), "library_code": names.library(r.library_id)[0],
          "supplier": names.supplier(r.supplier_id)[0], "reason": r.reason, "refusals": r.refusals} for r in ref_rows),
        key=lambda d: (d["network"], d["library_code"], d["supplier"], d["reason"]))
    return MonthFigures(
        month=month, computed_at=status.computed_at if status else None, final=bool(status and status.final),
        sealed=bool(status and status.sealed_at), totals=totals, suppliers=suppliers, libraries=lines,
        refusals=dict(sorted(reasons.items())), details=details, refusal_details=refusal_details,
        counter_unattributed=unattributed,
    )


@dataclass(frozen=True)
class TrendPoint:
    month: str
    accesses: int
    unique_patrons: int
    refusals: int
    active_end: int
    aggregated: bool


def trend(session: Session, selection: Selection, last: Month, count: int = 12) -> list[TrendPoint]:
    """The selection's monthly totals over ``count`` months ending with ``last``."""
    return [TrendPoint(str(f.month), f.totals["accesses"], f.totals["unique_patrons"], f.totals["refusals"],
                       f.totals["active_end"], f.aggregated)
            for f in figures(session, selection, last.back(count))]


def supplier_matrix(months: list[MonthFigures]) -> list[dict]:
    """Suppliers × months of accesses: ``[{"slug", "name", "counts": [accesses per month]}]``."""
    order: dict[str, str] = {}
    for f in months:
        for s in f.suppliers:
            order.setdefault(s.slug, s.name)
    rows = []
    for slug, name in order.items():
        values = []
        for f in months:
            line = next((s for s in f.suppliers if s.slug == slug), None)
            values.append(line.accesses if line else 0)
        rows.append({"slug": slug, "name": name, "counts": values})
    return rows


def supplier_counter(month: MonthFigures) -> list[dict]:
    """The suppliers' own COUNTER metrics of a month for the selection, per supplier (summed over its libraries).

    ``[{"slug", "name", "metrics": {metric: count}, "methods": ["member" | "prorata", …]}]``, suppliers with
    figures only.
    """
    out: dict[str, dict] = {}
    for d in month.details:
        if not d.counter_method:
            continue
        entry = out.setdefault(d.supplier, {"slug": d.supplier, "name": d.supplier_name, "metrics": {},
                                            "methods": []})
        for metric, count in d.counter.items():
            entry["metrics"][metric] = entry["metrics"].get(metric, 0) + count
        if d.counter_method not in entry["methods"]:
            entry["methods"].append(d.counter_method)
    return sorted(out.values(), key=lambda e: e["name"])
