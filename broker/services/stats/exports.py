"""The figures as files a library can open: CSV (safe in a spreadsheet), XLSX and JSON.

A month without data still gives a valid file: the header row alone (CSV),
the sheets with their headers (XLSX), empty lists (JSON).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

from ...clock import utcnow
from ...errors import InvalidInput
from .. import csvstyle, spreadsheet
from ..counter.attribution import METHOD_LABELS
from ..counter.reports import PR_METRICS
from .figures import LIBRARY_FIGURES, DetailLine, MonthFigures, Selection
from .months import iso_utc

FORMATS = ("csv", "json", "xlsx")
TABLES = ("usage", "refusals", "libraries")
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

#: the supplier metrics a usage export lists, in COUNTER's order
COUNTER_COLUMNS = ("Total_Item_Requests", "Unique_Item_Requests", "Unique_Title_Requests", "Total_Item_Investigations",
                   "Unique_Item_Investigations", "Unique_Title_Investigations", "Searches_Platform")
assert set(COUNTER_COLUMNS) == set(PR_METRICS)

#: (key, French heading) of each table; COUNTER names where COUNTER has the notion
COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "usage": (
        ("month", "Mois"), ("network", "Réseau"), ("library_code", "Code bibliothèque"),
        ("library_name", "Bibliothèque"), ("supplier", "Fournisseur (code)"), ("supplier_name", "Fournisseur"),
        ("accesses", "Accès (Total_Item_Requests)"), ("unique_patrons", "Usagers uniques"), ("refusals", "Refus"),
        # the supplier's own COUNTER figures (services/counter): COUNTER's names, then how they were obtained
        *((f"counter.{metric}", f"Fournisseur : {metric}") for metric in COUNTER_COLUMNS),
        ("counter_method", "Origine des chiffres du fournisseur"),
    ),
    "refusals": (
        ("month", "Mois"), ("network", "Réseau"), ("library_code", "Code bibliothèque"),
        ("supplier", "Fournisseur (code)"), ("reason", "Motif"), ("refusals", "Refus"),
    ),
    "libraries": (
        ("month", "Mois"), ("network", "Réseau"), ("library_code", "Code bibliothèque"),
        ("library_name", "Bibliothèque"), ("accesses", "Accès"), ("unique_patrons", "Usagers uniques"),
        ("refusals", "Refus"), ("registrations", "Inscriptions"), ("validated", "Inscriptions validées"),
        ("refused", "Inscriptions refusées"), ("pending_end", "En attente en fin de mois"),
        ("active_end", "Membres actifs en fin de mois"),
    ),
}
#: the refusal reasons in French, for the French CSV (the pages' labels: web/stats/labels.py)
FRENCH_REASONS = {
    "unknown_supplier": "Fournisseur inconnu",
    "credentials": "Identifiants refusés",
    "sigb_unavailable": "SIGB injoignable",
    "card_invalid": "Carte expirée, perdue ou bloquée",
    "not_registered": "Pas inscrit au service",
    "membership_pending": "Inscription en attente",
    "membership_refused": "Inscription refusée",
    "membership_suspended": "Accès suspendu",
    "membership_expired": "Inscription expirée",
    "partner_inactive": "Convention du partenaire terminée",
    "library_disabled": "Bibliothèque suspendue par le réseau",
    "supplier_disabled": "Fournisseur suspendu par le réseau",
    "not_in_bundle": "Fournisseur non proposé par le réseau",
    "age": "Hors de la tranche d'âge",
    "policy": "Règle locale",
}
SHEET_TITLES = {"usage": "Usage", "refusals": "Refus", "libraries": "Bibliothèques"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def safe_cell(value: Any) -> Any:
    """Numbers stay numbers; text a spreadsheet would read as a formula gets a leading quote (OWASP)."""
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def rows(months: list[MonthFigures], table: str) -> list[dict[str, Any]]:
    """The lines of one table over the months, as dicts keyed like COLUMNS."""
    if table not in TABLES:
        raise InvalidInput(f"table {table!r}: expected one of {', '.join(TABLES)}")
    out: list[dict[str, Any]] = []
    for f in months:
        if table == "usage":
            out += [_usage_row(d) for d in f.details]
        elif table == "refusals":
            out += list(f.refusal_details)
        else:
            out += [{"month": str(f.month), "network": line.network, "library_code": line.code,
                     "library_name": line.name, **line.figures}
                    for line in f.libraries if any(line.figures.values())]
    return out


def _usage_row(detail: DetailLine) -> dict[str, Any]:
    row = asdict(detail)
    counter = row.pop("counter")
    row["counter_method"] = METHOD_LABELS.get(detail.counter_method, "")
    for metric in COUNTER_COLUMNS:
        row[f"counter.{metric}"] = counter.get(metric) if detail.counter_method else None
    return row


def _detail_document(detail: DetailLine) -> dict[str, Any]:
    row = asdict(detail)
    row["counter_method_label"] = METHOD_LABELS.get(detail.counter_method, "")
    return row


def to_csv(months: list[MonthFigures], table: str = "usage", how: csvstyle.CsvStyle = csvstyle.FRENCH) -> bytes:
    """One table as CSV: French convention by default (``;``, French headings and reasons), or English."""
    columns = COLUMNS.get(table, ())
    data = rows(months, table)
    header = [heading if how.french else key for key, heading in columns]
    lines = []
    for row in data:
        line = [row.get(key) for key, _ in columns]
        if how.french and table == "refusals":
            line = [FRENCH_REASONS.get(v, v) if key == "reason" else v for (key, _), v in zip(columns, line)]
        lines.append(line)
    return csvstyle.write(header, lines, how).encode("utf-8")


def to_xlsx(months: list[MonthFigures], selection: Selection) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for table in TABLES:
        headings = [heading for _, heading in COLUMNS[table]]
        sheet = book.create_sheet(SHEET_TITLES[table])
        spreadsheet.add_header(sheet, headings)
        for row in rows(months, table):
            sheet.append([safe_cell(row.get(key)) for key, _ in COLUMNS[table]])
        spreadsheet.finish(sheet, headings)
    return spreadsheet.save(book, f"Statistiques Sésame – {selection.label}")


def document(months: list[MonthFigures], selection: Selection, *, now: datetime | None = None) -> dict[str, Any]:
    """The JSON form: every figure of every month, with the selection it covers (generated ``now``)."""
    return {
        "generated_at": iso_utc(now or utcnow()),
        "selection": {"network": selection.network.slug if selection.network else None,
                      "library": selection.library.code if selection.library else None,
                      "label": selection.label},
        "months": [month_document(f) for f in months],
    }


def month_document(f: MonthFigures) -> dict[str, Any]:
    return {
        "month": str(f.month),
        "aggregated": f.aggregated,
        "computed_at": iso_utc(f.computed_at),
        "final": f.final,
        "totals": {k: f.totals[k] for k in LIBRARY_FIGURES},
        "suppliers": [{"slug": s.slug, "name": s.name, "accesses": s.accesses, "unique_patrons": s.unique_patrons,
                       "refusals": s.refusals} for s in f.suppliers],
        "libraries": [{"code": line.code, "name": line.name, "network": line.network, **line.figures}
                      for line in f.libraries],
        "refusals": dict(f.refusals),
        "details": [_detail_document(d) for d in f.details],
        "counter_unattributed": {slug: dict(m) for slug, m in f.counter_unattributed.items()},
    }


def to_json(months: list[MonthFigures], selection: Selection, *, now: datetime | None = None) -> bytes:
    return json.dumps(document(months, selection, now=now), ensure_ascii=False, indent=2).encode("utf-8")


def render(months: list[MonthFigures], selection: Selection, fmt: str, table: str = "usage",
           how: csvstyle.CsvStyle = csvstyle.FRENCH, *, now: datetime | None = None) -> bytes:
    """The export in ``fmt`` (csv | json | xlsx); CSV holds one ``table``, in the style ``how`` (made ``now``)."""
    if fmt == "csv":
        if table not in TABLES:
            raise InvalidInput(f"table {table!r}: expected one of {', '.join(TABLES)}")
        return to_csv(months, table, how)
    if fmt == "xlsx":
        return to_xlsx(months, selection)
    if fmt == "json":
        return to_json(months, selection, now=now)
    raise InvalidInput(f"format {fmt!r}: expected one of {', '.join(FORMATS)}", code="invalid_format")


def filename(selection: Selection, period: str, fmt: str, table: str = "usage") -> str:
    suffix = f"-{table}" if fmt == "csv" and table != "usage" else ""
    return f"statistiques-{selection.slug}-{period}{suffix}.{fmt}"
