"""The two ways Sésame writes CSV: the French convention (the default for French readers) and plain English.

- ``fr``: ``;`` between cells, a decimal comma, French headings, states and
  reasons in words, dates as 31/12/2026 and times as 31/12/2026 14:05 in the
  network's time zone — what a spreadsheet set up in France opens in columns.
- ``en``: ``,`` between cells, a decimal point, the columns' English keys as
  headings, states and reasons as their codes, ISO 8601 dates and times with
  the zone's offset — for scripts and English-speaking readers.

Both are UTF-8 with a byte order mark (so that spreadsheets read the accents
right), lines end with CRLF, and text that a spreadsheet would run as a
formula gets a leading quote.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from .. import localtime
from ..errors import InvalidInput

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


@dataclass(frozen=True)
class CsvStyle:
    name: str
    delimiter: str
    decimal: str

    @property
    def french(self) -> bool:
        return self.name == "fr"


FRENCH = CsvStyle("fr", ";", ",")
ENGLISH = CsvStyle("en", ",", ".")
STYLES = {"fr": FRENCH, "en": ENGLISH}


def style(name: str | None, default: str = "fr") -> CsvStyle:
    """The style called ``name`` (fr or en; empty → ``default``); InvalidInput for anything else."""
    name = (name or default).strip().lower()
    found = STYLES.get(name)
    if found is None:
        raise InvalidInput(f"CSV style {name[:20]!r}: expected fr or en", code="invalid_csv_style")
    return found


def text_cell(value: Any) -> str:
    """Text a spreadsheet will not run: a cell starting like a formula gets a leading quote (OWASP)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def cell(value: Any, how: CsvStyle, zone: str = localtime.DEFAULT_ZONE) -> str:
    """One value as this style writes it: numbers with its decimal mark, dates and times its way."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return ("oui" if value else "non") if how.french else ("true" if value else "false")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (float, Decimal)):
        return (format(value, "f") if isinstance(value, Decimal) else repr(value)).replace(".", how.decimal)
    if isinstance(value, datetime):
        return localtime.format_datetime(value, "fr", zone) if how.french else localtime.iso_local(value, zone)
    if isinstance(value, date):
        return localtime.format_date(value, "fr") if how.french else value.isoformat()
    return text_cell(value)


def write(header: Iterable[str], rows: Iterable[Iterable[Any]], how: CsvStyle,
          zone: str = localtime.DEFAULT_ZONE) -> str:
    """The whole file as text, byte order mark first."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=how.delimiter, lineterminator="\r\n")
    writer.writerow([text_cell(h) for h in header])
    for row in rows:
        writer.writerow([cell(v, how, zone) for v in row])
    return out.getvalue()
