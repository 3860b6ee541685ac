"""The year's fees as CSV and XLSX, ready for the finance department's titles of receipt."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from . import spreadsheet
from .network import FeeLine
from .stats.exports import safe_cell

COLUMNS = (
    ("partner", "Partenaire (identifiant)"),
    ("name", "Partenaire"),
    ("kind", "Type"),
    ("network", "Réseau"),
    ("population", "Population légale"),
    ("rate", "Tarif (€ par habitant)"),
    ("days", "Jours couverts"),
    ("year_days", "Jours de l'année"),
    ("fee", "Participation (€)"),
)


def total(lines: list[FeeLine]) -> Decimal:
    return sum((line.fee for line in lines), Decimal("0.00"))


def _row(line: FeeLine) -> dict:
    return {"partner": line.partner, "name": line.name, "kind": line.kind, "network": line.network,
            "population": line.population, "rate": line.rate, "days": line.days, "year_days": line.year_days,
            "fee": line.fee}


def to_csv(lines: list[FeeLine], year: int) -> bytes:
    """Semicolon-separated with decimal points as written (967.80), one line per partner and a total line."""
    out = io.StringIO()
    out.write("\ufeff")  # spreadsheets then read the accents right
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([heading for _, heading in COLUMNS])
    for line in lines:
        row = _row(line)
        writer.writerow([f"{row[k]:.2f}" if k == "fee" else (str(row[k]) if k == "rate" else safe_cell(row[k]))
                         for k, _ in COLUMNS])
    writer.writerow(["", f"Total {year}", "", "", "", "", "", "", f"{total(lines):.2f}"])
    return out.getvalue().encode("utf-8")


def to_xlsx(lines: list[FeeLine], year: int) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    headings = [heading for _, heading in COLUMNS]
    book = Workbook()
    sheet = book.worksheets[0]
    sheet.title = f"Participations {year}"
    spreadsheet.add_header(sheet, headings)
    for line in lines:
        row = _row(line)
        sheet.append([float(row[k]) if isinstance(row[k], Decimal) else safe_cell(row[k]) for k, _ in COLUMNS])
        sheet.cell(sheet.max_row, len(COLUMNS)).number_format = "#,##0.00"
        sheet.cell(sheet.max_row, 6).number_format = "0.00##"
    spreadsheet.finish(sheet, headings)
    sheet.append(["", f"Total {year}", "", "", "", "", "", "", float(total(lines))])
    sheet.cell(sheet.max_row, len(COLUMNS)).number_format = "#,##0.00"
    sheet.cell(sheet.max_row, 2).font = Font(bold=True)
    return spreadsheet.save(book, f"Participations Sésame {year}")
