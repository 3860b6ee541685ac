"""The XLSX side of Sésame's exports: how a sheet is headed and finished, and a workbook saved.

A sheet opens on its headings in bold, a row that stays in view; each column is as
wide as its heading (12 to 40 characters); below it, every string is kept as text,
never read as a formula (the values are made safe first: ``stats.exports.safe_cell``).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from openpyxl import Workbook
    from openpyxl.worksheet.worksheet import Worksheet


def add_header(sheet: Worksheet, headings: Sequence[str]) -> None:
    """The sheet's first row: the headings, in bold."""
    from openpyxl.styles import Font

    sheet.append(list(headings))
    for cell in sheet[1]:
        cell.font = Font(bold=True)


def finish(sheet: Worksheet, headings: Sequence[str]) -> None:
    """Strings below the header kept as text, the header row frozen, each column as wide as its heading."""
    from openpyxl.utils import get_column_letter

    for cell in (c for row in sheet.iter_rows(min_row=2) for c in row):
        if isinstance(cell.value, str):
            cell.data_type = "s"  # openpyxl would otherwise take "=…" for a formula
    sheet.freeze_panes = "A2"
    for index, heading in enumerate(headings, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(12, min(40, len(heading) + 2))


def save(book: Workbook, title: str) -> bytes:
    """The workbook as bytes, with ``title`` and Sésame as its author in its properties."""
    book.properties.title = title
    book.properties.creator = "Sésame"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
