"""``broker stats import-counter``: a supplier's usage from a file instead of SUSHI.

Two forms are read:

- a COUNTER tabular platform report (PR or PR_P1), R5.0 or R5.1, as CSV, TSV or XLSX (first sheet):
  the header rows (``Report_Name``, ``Report_ID``, ``Release``… up to
  ``Created_By``, and ``Registry_Record`` in 5.1), a blank row, the column
  headings (``Platform``, ``Metric_Type``, ``Reporting_Period_Total``, then one
  ``Mmm-YYYY`` column per month) and the data rows;
- a simple CSV for platforms that are not COUNTER-compliant, with the headings
  ``month,library,metric,count`` (``library``: a library code, or ``network``).

A file that does not parse raises InvalidInput naming its line: nothing is imported.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ... import clock
from ...db.counter_models import CounterMetric, CounterReport
from ...db.models import Supplier
from ...errors import InvalidInput
from .. import audit
from .members import libraries_of
from .reports import INVARIANTS, PR_METRICS

MAX_FILE = 20 * 1024 * 1024
HEADER_51 = ("Report_Name", "Report_ID", "Release", "Institution_Name", "Institution_ID", "Metric_Types",
             "Report_Filters", "Report_Attributes", "Exceptions", "Reporting_Period", "Created", "Created_By",
             "Registry_Record")
SIMPLE = ["month", "library", "metric", "count"]
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


def parse(data: bytes) -> tuple[str, dict[tuple[str, str], dict[str, int]]]:
    """``(release, {(month, library code or "network"): {metric: count}})`` read from the file."""
    rows = _rows(data)
    if not rows:
        raise _fail(1, "the file is empty")
    if [c.strip().lower() for c in rows[0][:4]] == SIMPLE:
        return "simple", _parse_simple(rows)
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


def _parse_tabular(rows: list[list[str]]) -> tuple[str, dict]:
    header: dict[str, str] = {}
    line = 0
    for line, row in enumerate(rows, start=1):
        if not any(c.strip() for c in row):
            break
        key = row[0].strip()
        if key not in HEADER_51:
            raise _fail(line, f"{key[:40]!r} is not a COUNTER report header (expected {', '.join(HEADER_51[:3])}…)")
        header[key] = row[1].strip() if len(row) > 1 else ""
    else:
        raise _fail(line, "no blank row after the report header")
    release = header.get("Release", "")
    if release not in ("5", "5.1"):
        raise _fail(HEADER_51.index("Release") + 1, f"Release {release[:10]!r}: expected 5 or 5.1")
    expected = HEADER_51 if release == "5.1" else HEADER_51[:-1]
    missing = [k for k in expected if k not in header]
    if missing:
        raise _fail(line, f"the R{release} header lacks {', '.join(missing)}")
    if header["Report_ID"] not in ("PR", "PR_P1"):
        raise _fail(2, f"Report_ID {header['Report_ID'][:20]!r}: a platform report (PR or PR_P1) is expected")
    line += 1
    if line > len(rows):
        raise _fail(line, "no column headings")
    headings = [c.strip() for c in rows[line - 1]]
    for needed in ("Platform", "Metric_Type", "Reporting_Period_Total"):
        if needed not in headings:
            raise _fail(line, f"no {needed} column")
    months = {i: _month(h) for i, h in enumerate(headings) if i > headings.index("Reporting_Period_Total")}
    bad = [headings[i] for i, m in months.items() if m is None and headings[i]]
    if bad:
        raise _fail(line, f"column {bad[0][:20]!r}: expected a month as Mmm-YYYY (e.g. Nov-2026)")
    metric_at, total_at = headings.index("Metric_Type"), headings.index("Reporting_Period_Total")
    access_at = headings.index("Access_Method") if "Access_Method" in headings else None
    out: dict[tuple[str, str], dict[str, int]] = {}
    for number, row in enumerate(rows[line:], start=line + 1):
        if not any(c.strip() for c in row):
            continue
        if len(row) < len(headings):
            raise _fail(number, f"{len(row)} columns, {len(headings)} expected")
        metric = row[metric_at].strip()
        if metric not in PR_METRICS:
            raise _fail(number, f"Metric_Type {metric[:40]!r} is not a platform report metric")
        if access_at is not None and row[access_at].strip() not in ("", "Regular"):
            continue
        counts = {months[i]: _count(row[i], number, headings[i]) for i in months if months[i]}
        if _count(row[total_at], number, "Reporting_Period_Total") != sum(counts.values()):
            raise _fail(number, "Reporting_Period_Total is not the sum of the months")
        for month, count in counts.items():
            entry = out.setdefault((month, "network"), {})
            entry[metric] = entry.get(metric, 0) + count
    if not out:
        raise _fail(len(rows), "no data row")
    for (month, _), metrics in out.items():
        for smaller, larger in INVARIANTS:
            if smaller in metrics and larger in metrics and metrics[smaller] > metrics[larger]:
                raise InvalidInput(f"{month}: {smaller} ({metrics[smaller]}) exceeds {larger} ({metrics[larger]}); "
                                   "nothing imported", code="bad_counter_file")
    return release, out


def import_file(runtime, session: Session, supplier: Supplier, data: bytes, *, library: str | None = None,
                actor: str = "cli") -> list[dict]:
    """Store the file's months (replacing what an earlier file or harvest stored for the same customer)."""
    release, found = parse(data)
    allowed = {lib.code: lib for lib in libraries_of(session, supplier)}
    if library is not None and library not in allowed:
        raise InvalidInput(f"library {library[:64]!r} is not in a network offering '{supplier.slug}'",
                           code="unknown_library")
    now = clock.utcnow()
    imported = []
    for (month, target), metrics in sorted(found.items()):
        if library is not None:
            if target != "network":
                raise InvalidInput(f"{month}: the file names library {target!r}; give no --library", code="conflict")
            target = library
        if target != "network" and target not in allowed:
            raise InvalidInput(f"{month}: library {target[:64]!r} is not in a network offering '{supplier.slug}'; "
                               "nothing imported", code="unknown_library")
        lib = allowed.get(target)
        customer = f"file:{target}"
        old = session.scalar(select(CounterReport).where(
            CounterReport.supplier_id == supplier.id, CounterReport.month == month,
            CounterReport.customer_id == customer, CounterReport.report_id == "PR"))
        if old is not None:
            session.delete(old)
            session.flush()
        session.add(CounterReport(supplier_id=supplier.id, month=month, customer_id=customer,
                                  library_id=lib.id if lib else None, report_id="PR",
                                  release="" if release == "simple" else release, source="file",
                                  status="complete", harvested_at=now, final=True,
                                  metrics=[CounterMetric(metric=k, count=v) for k, v in sorted(metrics.items())]))
        imported.append({"month": month, "library": target, **metrics})
    session.flush()
    audit.record(runtime, session, actor, "supplier.counter_import", supplier.slug, months=len(imported),
                 library=library)
    return imported
