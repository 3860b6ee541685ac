"""A library's most used databases, titles or items (COUNTER DR, TR, IR), attributed as the platform report is.

A member's report goes whole to its library. A report for the whole network is
shared item by item and metric by metric, in proportion to the libraries'
unique patrons of the supplier that month, with the same largest-remainder
rounding as the platform figures (:mod:`.attribution`): each library's part of
a title is a whole number, and the parts add up to the supplier's figure.
Over several months (a year), the monthly parts are added up.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...db.counter_models import ITEM_METRICS, ITEM_REPORTS, CounterItem, CounterReport
from ...db.models import Library, Supplier
from ...errors import InvalidInput
from .attribution import MEMBER, PRO_RATA, largest_remainder, weights_of
from .item_reports import METRIC_LABELS, REPORT_LABELS, REPORT_METRICS

#: the metric titles are ranked by unless another is asked
DEFAULT_METRIC = "Total_Item_Requests"
#: how many lines a page shows
TOP = 50


@dataclass
class TitleLine:
    supplier: str
    supplier_name: str
    report: str
    key: str
    name: str
    parent: str = ""
    publisher: str = ""
    identifiers: dict[str, str] = field(default_factory=dict)
    data_types: str = ""
    metrics: dict[str, int] = field(default_factory=dict)
    methods: set[str] = field(default_factory=set)

    @property
    def method(self) -> str:
        return PRO_RATA if PRO_RATA in self.methods else MEMBER if self.methods else ""


def report_arg(value: str | None) -> str:
    """``dr``, ``tr`` or ``ir`` (any case) as a report id; InvalidInput otherwise."""
    found = (value or "TR").strip().upper()
    if found not in ITEM_REPORTS:
        raise InvalidInput(f"report {str(value)[:10]!r}: expected one of dr, tr, ir")
    return found


def metric_arg(report_id: str, value: str | None) -> str:
    metric = value or DEFAULT_METRIC
    if metric not in REPORT_METRICS[report_id]:
        raise InvalidInput(f"metric {str(metric)[:40]!r}: the {report_id} report has "
                           f"{', '.join(m for m in ITEM_METRICS if m in REPORT_METRICS[report_id])}",
                           )
    return metric


def metrics_of(report_id: str) -> tuple[str, ...]:
    """The report's metrics, in the order pages and exports list them."""
    return tuple(m for m in ITEM_METRICS if m in REPORT_METRICS[report_id])


def library_titles(session: Session, libraries: list[Library], months: list[str], report_id: str, *,
                   metric: str = DEFAULT_METRIC, limit: int | None = None) -> list[TitleLine]:
    """The items of ``report_id`` credited to ``libraries`` over ``months``, most used first (by ``metric``)."""
    wanted = {lib.id for lib in libraries}
    lines: dict[tuple[int, str], TitleLine] = {}
    suppliers = {s.id: s for s in session.scalars(select(Supplier))}
    codes = {lib.id: lib.code for lib in session.scalars(select(Library))}
    for month in months:
        reports = list(session.scalars(select(CounterReport).where(CounterReport.month == month,
                                                                   CounterReport.report_id == report_id)))
        # a supplier's harvested report wins over a file imported for the same month (never both counted)
        harvested = {r.supplier_id for r in reports if r.source == "sushi"}
        reports = [r for r in reports if r.source == "sushi" or r.supplier_id not in harvested]
        network = [r for r in reports if r.library_id is None]
        weights = weights_of(session, month, {r.supplier_id for r in network})
        for report in reports:
            if report.library_id is not None:
                if report.library_id not in wanted:
                    continue
                share, method = None, MEMBER
            else:
                share = weights.get(report.supplier_id, {})
                if not wanted & set(share):
                    continue
                method = PRO_RATA
            for item in session.scalars(select(CounterItem).where(CounterItem.report_id == report.id)):
                counts = item.metrics
                if share is not None:
                    counts = {m: sum(part for lid, part in largest_remainder(n, share, codes).items() if lid in wanted)
                              for m, n in counts.items()}
                line = lines.get((report.supplier_id, item.item_key))
                if line is None:
                    supplier = suppliers.get(report.supplier_id)
                    line = lines[(report.supplier_id, item.item_key)] = TitleLine(
                        supplier=supplier.slug if supplier else "", supplier_name=supplier.name if supplier else "",
                        report=report_id, key=item.item_key, name=item.name, parent=item.parent,
                        publisher=item.publisher, identifiers=json.loads(item.identifiers or "{}"),
                        data_types=item.data_types)
                line.methods.add(method)
                for m, n in counts.items():
                    line.metrics[m] = line.metrics.get(m, 0) + n
    ranked = sorted(lines.values(), key=lambda t: (-t.metrics.get(metric, 0),
                                                   -t.metrics.get("Total_Item_Investigations", 0),
                                                   t.name.lower(), t.supplier))
    ranked = [t for t in ranked if any(t.metrics.values())]
    return ranked[:limit] if limit else ranked


def network_libraries(session: Session, network_id: int) -> list[Library]:
    from ...db.models import Partner

    return list(session.scalars(select(Library).join(Partner).where(Partner.network_id == network_id)))


def selection_libraries(session: Session, selection) -> list[Library]:
    """The libraries whose share a selection (``services.stats.figures.Selection``) sees: its library, or its network's."""
    return [selection.library] if selection.library is not None else network_libraries(session, selection.network.id)


#: what a line names, per report, in French
NAME_HEADINGS = {"DR": "Base de données", "TR": "Titre", "IR": "Document"}


def columns(report_id: str) -> tuple[tuple[str, str], ...]:
    """(key, French heading) of the titles export: COUNTER's metric names beside their French labels."""
    return (("period", "Période"), ("selection", "Bibliothèque ou réseau"), ("supplier", "Fournisseur (code)"),
            ("supplier_name", "Fournisseur"), ("report", "Rapport COUNTER"), ("name", NAME_HEADINGS[report_id]),
            *((("parent", "Titre parent"),) if report_id == "IR" else ()), ("publisher", "Éditeur"),
            ("identifiers", "Identifiants"), ("data_types", "Types de données (Data_Type)"),
            *((m, f"{METRIC_LABELS[m]} ({m})") for m in metrics_of(report_id)),
            ("method", "Origine des chiffres du fournisseur"))


def line_document(line: TitleLine, report_id: str) -> dict:
    from .attribution import METHOD_LABELS

    return {"supplier": line.supplier, "supplier_name": line.supplier_name, "report": report_id, "name": line.name,
            **({"parent": line.parent} if report_id == "IR" else {}), "publisher": line.publisher,
            "identifiers": dict(line.identifiers), "data_types": [t for t in line.data_types.split("|") if t],
            "metrics": {m: line.metrics[m] for m in metrics_of(report_id) if m in line.metrics},
            "method": line.method, "method_label": METHOD_LABELS.get(line.method, "")}


def document(lines: list[TitleLine], report_id: str, *, selection: str, period: str, metric: str) -> dict:
    """The JSON export: the lines with COUNTER's metric names, their French labels and how they were obtained."""
    from ...clock import utcnow
    from ..stats.months import iso_utc

    return {"generated_at": iso_utc(utcnow()), "selection": selection, "period": period, "report": report_id,
            "report_label": REPORT_LABELS[report_id], "ranked_by": metric,
            "metrics": [{"id": m, "label": METRIC_LABELS[m]} for m in metrics_of(report_id)],
            "lines": [line_document(line, report_id) for line in lines]}


def _values(line: TitleLine, report_id: str, *, selection: str, period: str, french: bool) -> dict:
    from .attribution import METHOD_LABELS

    return {"period": period, "selection": selection, "supplier": line.supplier, "supplier_name": line.supplier_name,
            "report": report_id, "name": line.name, "parent": line.parent, "publisher": line.publisher,
            "identifiers": " | ".join(f"{k}:{v}" for k, v in sorted(line.identifiers.items())),
            "data_types": line.data_types.replace("|", ", "),
            "method": METHOD_LABELS.get(line.method, "") if french else line.method, **line.metrics}


def to_csv(lines: list[TitleLine], report_id: str, *, selection: str, period: str, how) -> bytes:
    """The CSV export (French convention: ``;`` and French headings; English: ``,`` and the keys)."""
    from .. import csvstyle

    cols = columns(report_id)
    out = [[_values(line, report_id, selection=selection, period=period, french=how.french).get(key)
            for key, _ in cols] for line in lines]
    header = [heading if how.french else key for key, heading in cols]
    return csvstyle.write(header, out, how).encode("utf-8")


def to_xlsx(lines: list[TitleLine], report_id: str, *, selection: str, period: str, label: str = "") -> bytes:
    """The XLSX export: one sheet, French headings with COUNTER's metric names, counts as numbers."""
    from openpyxl import Workbook

    from .. import spreadsheet
    from ..stats.exports import safe_cell

    cols = columns(report_id)
    headings = [heading for _, heading in cols]
    book = Workbook()
    sheet = book.worksheets[0]
    sheet.title = REPORT_LABELS[report_id][:31]
    spreadsheet.add_header(sheet, headings)
    for line in lines:
        values = _values(line, report_id, selection=selection, period=period, french=True)
        sheet.append([safe_cell(values.get(key)) for key, _ in cols])
    spreadsheet.finish(sheet, headings)
    return spreadsheet.save(book, f"{REPORT_LABELS[report_id]} – {label or selection} – {period}")
