"""``broker stats import-counter``: a supplier's usage from a file instead of SUSHI.

Two forms are read:

- a COUNTER tabular platform (PR or PR_P1), database (DR), title (TR) or item
  (IR) report, R5.0 or R5.1, as CSV, TSV or XLSX (first sheet): the header rows
  (``Report_Name``, ``Report_ID``, ``Release``… up to ``Created_By``, and
  ``Registry_Record`` in 5.1), a blank row, the column headings (``Platform``,
  the report's name column — ``Database``, ``Title`` or ``Item`` — and its
  identifiers, ``Metric_Type``, ``Reporting_Period_Total``, then one
  ``Mmm-YYYY`` column per month) and the data rows (COUNTER code of practice,
  section 3.3 and appendix G);
- a simple CSV for platforms that are not COUNTER-compliant, with the headings
  ``month,library,metric,count`` (``library``: a library code, or ``network``).

A file that does not parse raises InvalidInput naming its line: nothing is imported.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from ... import clock
from ...db.counter_models import CounterItem, CounterMetric, CounterReport
from ...db.models import Supplier
from ...errors import InvalidInput
from .. import audit
from .item_reports import MAX_ITEMS, NAME_FIELD, REPORT_METRICS, ItemUsage, item_key, item_row
from .members import libraries_of
from .reports import INVARIANTS, PR_METRICS

if TYPE_CHECKING:
    from ...runtime import Runtime

MAX_FILE = 20 * 1024 * 1024
HEADER_51 = ("Report_Name", "Report_ID", "Release", "Institution_Name", "Institution_ID", "Metric_Types",
             "Report_Filters", "Report_Attributes", "Exceptions", "Reporting_Period", "Created", "Created_By",
             "Registry_Record")
SIMPLE = ["month", "library", "metric", "count"]
#: the standard views of the DR, TR and IR master reports: parts of them, refused (the master report is asked)
STANDARD_VIEWS = {"DR_D1": "DR", "DR_D2": "DR", "TR_B1": "TR", "TR_B2": "TR", "TR_B3": "TR", "TR_J1": "TR",
                  "TR_J2": "TR", "TR_J3": "TR", "TR_J4": "TR", "IR_A1": "IR", "IR_M1": "IR"}
#: identifier columns of the tabular DR, TR and IR → the identifier types of the JSON reports
IDENTIFIER_COLUMNS = {"DOI": "DOI", "Proprietary_ID": "Proprietary", "ISBN": "ISBN", "Print_ISSN": "Print_ISSN",
                      "Online_ISSN": "Online_ISSN", "URI": "URI"}
MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _fail(line: int, message: str) -> InvalidInput:
    return InvalidInput(f"line {line}: {message}; nothing imported", code="bad_counter_file")


def _rows(data: bytes) -> list[list[str]]:
    if len(data) > MAX_FILE:
        raise InvalidInput(f"the file is over {MAX_FILE // (1024 * 1024)} MiB; nothing imported")
    if data[:4] == b"PK\x03\x04":
        return _xlsx_rows(data)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise _fail(line, "not UTF-8 text") from None
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first else ";" if first.count(";") > first.count(",") else ","
    return list(csv.reader(io.StringIO(text), delimiter=delimiter))


def _xlsx_rows(data: bytes) -> list[list[str]]:
    """The first sheet of an XLSX workbook as text rows (month headings written Mmm-YYYY when they are dates)."""
    from datetime import date
    from zipfile import BadZipFile

    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (BadZipFile, KeyError, ValueError, OSError):
        raise InvalidInput("the file is neither CSV/TSV text nor a readable XLSX workbook; nothing imported",
                           code="bad_counter_file") from None
    try:
        sheet = book.worksheets[0]
        rows = []
        for row in sheet.iter_rows(values_only=True):
            cells = []
            for value in row:
                if value is None:
                    cells.append("")
                elif isinstance(value, (datetime, date)):
                    cells.append(f"{MONTH_NAMES[value.month - 1]}-{value.year}" if value.day == 1
                                 else value.strftime("%Y-%m-%d"))
                elif isinstance(value, float) and value.is_integer():
                    cells.append(str(int(value)))
                else:
                    cells.append(str(value))
            rows.append(cells)
        return rows
    finally:
        book.close()


def _month(heading: str) -> str | None:
    """``Nov-2026`` → ``2026-11`` (COUNTER's English abbreviations, whatever the locale)."""
    name, _, year = heading.strip().partition("-")
    if name.title() not in MONTH_NAMES or not (year.isdigit() and len(year) == 4):
        return None
    return f"{year}-{MONTH_NAMES.index(name.title()) + 1:02d}"


def _count(value: str, line: int, what: str) -> int:
    value = value.strip()
    if value == "":
        return 0
    if not value.isdigit():
        raise _fail(line, f"{what}: {value[:20]!r} is not a whole number ≥ 0")
    return int(value)


@dataclass
class Parsed:
    """What a file holds: a platform report's metrics, or a DR, TR or IR report's items, per month."""

    report_id: str
    #: "5", "5.1", or "simple" (the simple CSV)
    release: str
    #: PR: {(month, library code or "network"): {metric: count}}
    metrics: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)
    #: DR, TR, IR: {month: {item key: usage}} (the file is for one customer: --library or the network)
    items: dict[str, dict[str, ItemUsage]] = field(default_factory=dict)


def parse(data: bytes) -> Parsed:
    """The file's report, read whole; InvalidInput naming the line at fault when it does not parse."""
    rows = _rows(data)
    if not rows:
        raise _fail(1, "the file is empty")
    if [c.strip().lower() for c in rows[0][:4]] == SIMPLE:
        return Parsed("PR", "simple", metrics=_parse_simple(rows))
    return _parse_tabular(rows)


def _parse_simple(rows: list[list[str]]) -> dict:
    out: dict[tuple[str, str], dict[str, int]] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        if len(row) != 4:
            raise _fail(line, f"expected 4 columns (month, library, metric, count), found {len(row)}")
        month, library, metric, count = (c.strip() for c in row)
        if _month_ok(month) is None:
            raise _fail(line, f"month {month[:20]!r}: expected YYYY-MM")
        if metric not in PR_METRICS:
            raise _fail(line, f"metric {metric[:40]!r}: expected one of {', '.join(PR_METRICS)}")
        entry = out.setdefault((month, library or "network"), {})
        entry[metric] = entry.get(metric, 0) + _count(count, line, "count")
    if not out:
        raise _fail(len(rows), "no data row")
    return out


def _month_ok(text: str) -> str | None:
    try:
        datetime.strptime(text, "%Y-%m")
    except ValueError:
        return None
    return text if len(text) == 7 else None


def _parse_tabular(rows: list[list[str]]) -> Parsed:
    header: dict[str, str] = {}
    at_line: dict[str, int] = {}
    line = 0
    for line, row in enumerate(rows, start=1):
        if not any(c.strip() for c in row):
            break
        key = row[0].strip()
        if key not in HEADER_51:
            raise _fail(line, f"{key[:40]!r} is not a COUNTER report header (expected {', '.join(HEADER_51[:3])}…)")
        header[key] = row[1].strip() if len(row) > 1 else ""
        at_line[key] = line
    else:
        raise _fail(line, "no blank row after the report header")
    release = header.get("Release", "")
    if release not in ("5", "5.1"):
        raise _fail(at_line.get("Release", line), f"Release {release[:10]!r}: expected 5 or 5.1")
    expected = HEADER_51 if release == "5.1" else HEADER_51[:-1]
    missing = [k for k in expected if k not in header]
    if missing:
        raise _fail(line, f"the R{release} header lacks {', '.join(missing)}")
    report_id = header["Report_ID"]
    if report_id in STANDARD_VIEWS:
        raise _fail(at_line["Report_ID"], f"Report_ID {report_id!r} is a standard view, a part of the {STANDARD_VIEWS[report_id]} report: "
                       f"export the whole {STANDARD_VIEWS[report_id]} report")
    if report_id not in ("PR", "PR_P1", *NAME_FIELD):
        raise _fail(at_line["Report_ID"], f"Report_ID {report_id[:20]!r}: expected a platform (PR, PR_P1), database (DR), title (TR) "
                       "or item (IR) report")
    line += 1
    if line > len(rows):
        raise _fail(line, "no column headings")
    headings = [c.strip() for c in rows[line - 1]]
    name_field = NAME_FIELD.get(report_id)
    for needed in ("Platform", *((name_field,) if name_field else ()), "Metric_Type", "Reporting_Period_Total"):
        if needed not in headings:
            raise _fail(line, f"no {needed} column")
    total_at = headings.index("Reporting_Period_Total")
    months = {i: _month(h) for i, h in enumerate(headings) if i > total_at}
    bad = [headings[i] for i, m in months.items() if m is None and headings[i]]
    if bad:
        raise _fail(line, f"column {bad[0][:20]!r}: expected a month as Mmm-YYYY (e.g. Nov-2026)")
    found = {i: m for i, m in months.items() if m}
    if not found:  # Exclude_Monthly_Details=True: the total alone, for the Reporting_Period
        single = _single_month(header.get("Reporting_Period", ""))
        if single is None:
            raise _fail(line, "no month column after Reporting_Period_Total, and the Reporting_Period is not one "
                              "month (Begin_Date=YYYY-MM-01; End_Date=YYYY-MM-…)")
        found = {total_at: single}
    table = _Table(headings, found, line, total_at)
    if name_field is None:
        return Parsed("PR", release, metrics=_platform_rows(rows, table))
    return Parsed(report_id, release, items=_item_rows(rows, table, report_id))


def _single_month(period: str) -> str | None:
    """``2026-11`` for ``Begin_Date=2026-11-01; End_Date=2026-11-30`` (a period within one month), else None."""
    dates = dict(part.strip().partition("=")[::2] for part in period.split(";") if "=" in part)
    begin, end = dates.get("Begin_Date", "").strip(), dates.get("End_Date", "").strip()
    if len(begin) < 7 or begin[:7] != end[:7] or _month_ok(begin[:7]) is None:
        return None
    return begin[:7]


@dataclass
class _Table:
    headings: list[str]
    #: column index → month (YYYY-MM)
    months: dict[int, str]
    #: the line of the column headings
    line: int
    #: the Reporting_Period_Total column
    total_at: int

    def at(self, heading: str) -> int | None:
        return self.headings.index(heading) if heading in self.headings else None

    def data(self, rows: list[list[str]]):
        """``(line, row)`` of each data row that is not blank, checked for its width."""
        for number, row in enumerate(rows[self.line:], start=self.line + 1):
            if not any(c.strip() for c in row):
                continue
            if len(row) < len(self.headings):
                raise _fail(number, f"{len(row)} columns, {len(self.headings)} expected")
            yield number, row

    def counts(self, row: list[str], number: int) -> dict[str, int]:
        """The row's count per month, checked against its Reporting_Period_Total."""
        counts = {month: _count(row[i], number, self.headings[i]) for i, month in self.months.items()}
        if _count(row[self.total_at], number, "Reporting_Period_Total") != sum(counts.values()):
            raise _fail(number, "Reporting_Period_Total is not the sum of the months")
        return counts


def _platform_rows(rows: list[list[str]], table: _Table) -> dict[tuple[str, str], dict[str, int]]:
    metric_at, access_at = table.at("Metric_Type"), table.at("Access_Method")
    out: dict[tuple[str, str], dict[str, int]] = {}
    for number, row in table.data(rows):
        metric = row[metric_at].strip()
        if metric not in PR_METRICS:
            raise _fail(number, f"Metric_Type {metric[:40]!r} is not a platform report metric")
        if access_at is not None and row[access_at].strip() not in ("", "Regular"):
            continue
        for month, count in table.counts(row, number).items():
            entry = out.setdefault((month, "network"), {})
            entry[metric] = entry.get(metric, 0) + count
    if not out:
        raise _fail(len(rows), "no data row")
    for (month, _), metrics in out.items():
        for smaller, larger in INVARIANTS:
            if smaller in metrics and larger in metrics and metrics[smaller] > metrics[larger]:
                raise InvalidInput(f"{month}: {smaller} ({metrics[smaller]}) exceeds {larger} ({metrics[larger]}); "
                                   "nothing imported", code="bad_counter_file")
    return out


def _item_rows(rows: list[list[str]], table: _Table, report_id: str) -> dict[str, dict[str, ItemUsage]]:
    """Each month's items, their rows summed (data types, years, access types), TDM left out, as the harvest does."""
    name_field = NAME_FIELD[report_id]
    allowed = REPORT_METRICS[report_id]
    at = {h: table.at(h) for h in (name_field, "Platform", "Publisher", "Parent_Title", "Data_Type", "Access_Method",
                                   "Metric_Type", *IDENTIFIER_COLUMNS)}
    out: dict[str, dict[str, ItemUsage]] = {month: {} for month in table.months.values()}
    first_line: dict[str, int] = {}

    def cell(row: list[str], heading: str) -> str:
        index = at[heading]
        return row[index].strip() if index is not None else ""

    seen = False
    for number, row in table.data(rows):
        seen = True
        name = cell(row, name_field)
        if not name:
            raise _fail(number, f"no {name_field}")
        if not cell(row, "Platform"):
            raise _fail(number, "no Platform")
        metric = cell(row, "Metric_Type")
        if metric not in allowed:
            raise _fail(number, f"Metric_Type {metric[:40]!r} is not a metric of the {report_id} report")
        counts = table.counts(row, number)
        if cell(row, "Access_Method") not in ("", "Regular"):
            continue
        identifiers = {kind: value[:300] for column, kind in IDENTIFIER_COLUMNS.items()
                       if (value := cell(row, column))}
        key = item_key(report_id, name, identifiers)
        first_line.setdefault(key, number)
        for month, count in counts.items():
            if count == 0:  # a month without this metric: left empty, as in a JSON report
                continue
            items = out[month]
            usage = items.get(key)
            if usage is None:
                if len(items) >= MAX_ITEMS:
                    raise _fail(number, f"{month}: more than {MAX_ITEMS} items: too large to store")
                usage = items[key] = ItemUsage(name=name[:500], parent=cell(row, "Parent_Title")[:500],
                                               publisher=cell(row, "Publisher")[:300],
                                               platform=cell(row, "Platform")[:200], identifiers=identifiers)
            usage.metrics[metric] = usage.metrics.get(metric, 0) + count
            if cell(row, "Data_Type"):
                usage.data_types.add(cell(row, "Data_Type")[:40])
    if not seen:
        raise _fail(len(rows), "no data row")
    for month, items in out.items():
        for key, usage in items.items():
            m = usage.metrics
            for smaller, larger in INVARIANTS:
                if smaller in m and larger in m and m[smaller] > m[larger]:
                    raise _fail(first_line[key], f"{name_field} {usage.name[:80]!r}, {month}: {smaller} ({m[smaller]}) "
                                                 f"exceeds {larger} ({m[larger]})")
    return out


def import_file(runtime: Runtime, session: Session, supplier: Supplier, data: bytes, *, library: str | None = None,
                actor: str = "cli") -> list[dict]:
    """Store the file's months (replacing what an earlier file stored for the same customer and report)."""
    parsed = parse(data)
    allowed = {lib.code: lib for lib in libraries_of(session, supplier)}
    if library is not None and library not in allowed:
        raise InvalidInput(f"library {library[:64]!r} is not in a network offering '{supplier.slug}'",
                           code="unknown_library")
    if parsed.report_id == "PR":
        imported = _store_platform(session, supplier, parsed, library, allowed)
    else:
        imported = _store_items(session, supplier, parsed, library, allowed)
    session.flush()
    audit.record(runtime, session, actor, "supplier.counter_import", supplier.slug, months=len(imported),
                 library=library, report=parsed.report_id)
    return imported


def _replace(session: Session, supplier: Supplier, month: str, customer: str, report_id: str) -> None:
    old = session.scalar(select(CounterReport).where(
        CounterReport.supplier_id == supplier.id, CounterReport.month == month,
        CounterReport.customer_id == customer, CounterReport.report_id == report_id))
    if old is not None:
        session.delete(old)
        session.flush()


def _store_platform(session: Session, supplier: Supplier, parsed: Parsed, library: str | None,
                    allowed: dict) -> list[dict]:
    now = clock.utcnow()
    imported = []
    for (month, target), metrics in sorted(parsed.metrics.items()):
        if library is not None:
            if target != "network":
                raise InvalidInput(f"{month}: the file names library {target!r}; give no --library", code="conflict")
            target = library
        if target != "network" and target not in allowed:
            raise InvalidInput(f"{month}: library {target[:64]!r} is not in a network offering '{supplier.slug}'; "
                               "nothing imported", code="unknown_library")
        lib = allowed.get(target)
        customer = f"file:{target}"
        _replace(session, supplier, month, customer, "PR")
        session.add(CounterReport(supplier_id=supplier.id, month=month, customer_id=customer,
                                  library_id=lib.id if lib else None, report_id="PR",
                                  release="" if parsed.release == "simple" else parsed.release, source="file",
                                  status="complete", harvested_at=now, final=True,
                                  metrics=[CounterMetric(metric=k, count=v) for k, v in sorted(metrics.items())]))
        imported.append({"month": month, "library": target, "report": "PR", **metrics})
    return imported


def _store_items(session: Session, supplier: Supplier, parsed: Parsed, library: str | None,
                 allowed: dict) -> list[dict]:
    now = clock.utcnow()
    target = library or "network"
    lib = allowed.get(target)
    customer = f"file:{target}"
    imported = []
    for month, items in sorted(parsed.items.items()):
        _replace(session, supplier, month, customer, parsed.report_id)
        report = CounterReport(supplier_id=supplier.id, month=month, customer_id=customer,
                               library_id=lib.id if lib else None, report_id=parsed.report_id,
                               release=parsed.release, source="file", status="complete" if items else "no_usage",
                               harvested_at=now, final=True)
        session.add(report)
        session.flush()
        rows = [item_row(report.id, key, usage) for key, usage in items.items()]
        for start in range(0, len(rows), 5000):
            session.execute(insert(CounterItem), rows[start:start + 5000])
        totals: dict[str, int] = {}
        for usage in items.values():
            for metric, count in usage.metrics.items():
                totals[metric] = totals.get(metric, 0) + count
        imported.append({"month": month, "library": target, "report": parsed.report_id, "items": len(items),
                         **totals})
    return imported
