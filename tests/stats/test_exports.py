"""Exports open in a spreadsheet (csv, openpyxl) and in JSON; CSV is formula-safe; empty months give valid files."""

from __future__ import annotations

import csv
import io
import json
from contextlib import contextmanager

import pytest
from openpyxl import load_workbook

from broker.services import csvstyle
from broker.services.stats import Month, aggregate, figures, select_scope
from broker.services.stats.counter import platform_report
from broker.services.stats.exports import COLUMNS, render, safe_cell
from fixtures import stats as statskit
from fixtures.stats import paris


def _events(app, code="FR-140476101", month=3):
    known = statskit.ids(app)
    base = {"network_id": known["library_network"][code], "library_id": known["library"][code]}
    rows = []
    for i, slug in enumerate(["cafeyn", "cafeyn", "pnb", "skilleos"]):
        rows.append({**base, "supplier_id": known["supplier"][slug], "patron_key": f"{i % 2:032x}",
                     "at": paris(2025, month, 3 + i), "outcome": "granted"})
    rows.append({**base, "supplier_id": known["supplier"]["vodeclic"], "patron_key": "9" * 32,
                 "at": paris(2025, month, 9), "outcome": "membership_pending"})
    return rows


def _csv(body: bytes, delimiter: str = ";") -> list[list[str]]:
    """A CSV in the French convention by default (``;``), the English one with ``delimiter=","``."""
    text = body.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=delimiter))


@contextmanager
def _bayeux_in_march(app):
    """The month's events counted, then Bayeux's March 2025: (its monthly figures, its scope), in a session."""
    runtime = app.extensions["broker"]
    statskit.insert_events(app, _events(app))
    aggregate(runtime)
    with runtime.db.session() as s:
        selection = select_scope(s, library="FR-140476101")
        yield figures(s, selection, [Month(2025, 3)]), selection


def test_csv_xlsx_json_hold_the_month(stats_app):
    with _bayeux_in_march(stats_app) as (months, selection):
        usage = _csv(render(months, selection, "csv"))
        refusals = _csv(render(months, selection, "csv", "refusals"))
        libraries = _csv(render(months, selection, "csv", "libraries"))
        english = _csv(render(months, selection, "csv", "refusals", csvstyle.ENGLISH), ",")
        book = load_workbook(io.BytesIO(render(months, selection, "xlsx")))
        doc = json.loads(render(months, selection, "json"))
    assert usage[0] == [h for _, h in COLUMNS["usage"]]
    by_supplier = {row[4]: row for row in usage[1:]}
    assert by_supplier["cafeyn"][6:9] == ["2", "2", "0"]
    assert by_supplier["pnb"][6:9] == ["1", "1", "0"]
    assert by_supplier["vodeclic"][6:9] == ["0", "0", "1"]
    assert refusals[1][-2:] == ["Inscription en attente", "1"]  # the French file names the reason
    assert english[0] == [key for key, _ in COLUMNS["refusals"]]
    assert english[1][-2:] == ["membership_pending", "1"]  # the English one keeps its code
    assert libraries[1][2] == "FR-140476101" and libraries[1][4] == "4"
    assert book.sheetnames == ["Usage", "Refus", "Bibliothèques"]
    sheet = book["Usage"]
    assert [c.value for c in sheet[1]][:3] == ["Mois", "Réseau", "Code bibliothèque"]
    assert sum(row[6] for row in sheet.iter_rows(min_row=2, values_only=True)) == 4
    assert doc["months"][0]["totals"]["accesses"] == 4
    assert doc["months"][0]["totals"]["unique_patrons"] == 2
    assert doc["selection"]["library"] == "FR-140476101"


def test_a_month_without_data_gives_empty_valid_files(stats_app):
    runtime = stats_app.extensions["broker"]
    with runtime.db.session() as s:
        selection = select_scope(s, network="calvados")
        months = figures(s, selection, [Month(2024, 2)])
        assert _csv(render(months, selection, "csv")) == [[h for _, h in COLUMNS["usage"]]]
        book = load_workbook(io.BytesIO(render(months, selection, "xlsx")))
        assert [len(list(book[name].iter_rows(min_row=2))) for name in book.sheetnames] == [0, 0, 0]
        doc = json.loads(render(months, selection, "json"))
        assert doc["months"][0]["aggregated"] is False and doc["months"][0]["details"] == []
        report = platform_report(months, selection)
        assert report["Report_Items"] == [] and report["Report_Header"]["Exceptions"][0]["Code"] == 3030


def test_cells_that_look_like_formulas_are_neutralised(stats_app):
    from broker.db.models import Library

    app = stats_app
    runtime = app.extensions["broker"]
    with runtime.db.session() as s:
        lib = s.query(Library).filter_by(code="FR-140476101").one()
        lib.name = '=HYPERLINK("http://evil.example","clic")'
    with _bayeux_in_march(app) as (months, selection):
        rows = _csv(render(months, selection, "csv"))
        book = load_workbook(io.BytesIO(render(months, selection, "xlsx")))
    assert all(row[3].startswith("'=") for row in rows[1:])
    cell = book["Usage"]["D2"]
    assert cell.data_type == "s" and cell.value.startswith("'=")
    for value in ("=1+1", "+1", "-1", "@SUM(A1)", "\t=1"):
        assert safe_cell(value).startswith("'")
    assert safe_cell(-3) == -3 and safe_cell("Médiathèque") == "Médiathèque"


def test_counter_report_shape(stats_app):
    app = stats_app
    runtime = app.extensions["broker"]
    known = statskit.ids(app)
    rows = _events(app)
    rows.append({"network_id": known["network"]["calvados"], "library_id": known["library"]["FR-140476101"],
                 "supplier_id": known["supplier"]["cafeyn"], "patron_key": "7" * 32, "at": paris(2025, 3, 20),
                 "outcome": "not_in_bundle"})
    statskit.insert_events(app, rows)
    aggregate(runtime)
    with runtime.db.session() as s:
        selection = select_scope(s, library="FR-140476101")
        report = platform_report(figures(s, selection, [Month(2025, 2), Month(2025, 3)]), selection)
    header = report["Report_Header"]
    assert header["Release"] == "5" and header["Report_ID"] == "Sesame:PR"
    assert header["Institution_ID"] == [{"Type": "ISIL", "Value": "FR-140476101"}]
    assert header["Report_Filters"] == [{"Name": "Begin_Date", "Value": "2025-02-01"},
                                        {"Name": "End_Date", "Value": "2025-03-31"}]
    cafeyn = next(i for i in report["Report_Items"] if i["Sesame:Supplier"] == "cafeyn")
    assert cafeyn["Performance"] == [{"Period": {"Begin_Date": "2025-03-01", "End_Date": "2025-03-31"},
                                      "Instance": [{"Metric_Type": "Total_Item_Requests", "Count": 2},
                                                   {"Metric_Type": "Sesame:Unique_Users", "Count": 2},
                                                   {"Metric_Type": "No_License", "Count": 1}]}]


@pytest.mark.parametrize("fmt", ["csv", "json", "xlsx"])
def test_cli_export(stats_cli, tmp_path, fmt):
    out = tmp_path / f"export.{fmt}"
    assert stats_cli("stats", "aggregate", "--json").exit_code == 0
    result = stats_cli("stats", "export", "--month", "2025-03", "--network", "calvados", "--format", fmt,
                       "--output", str(out))
    assert result.exit_code == 0, result.output
    if fmt == "csv":
        assert _csv(out.read_bytes())[0][0] == "Mois"
    elif fmt == "json":
        assert json.loads(out.read_text())["months"][0]["month"] == "2025-03"
    else:
        assert load_workbook(out).sheetnames == ["Usage", "Refus", "Bibliothèques"]


def test_cli_export_bad_input(stats_cli):
    cases = [
        (["--month", "2025-13", "--format", "csv"], "01 to 12"),
        (["--month", "2999-01", "--format", "csv"], "future"),
        (["--month", "march", "--format", "csv"], "YYYY-MM"),
        (["--month", "2025-03", "--library", "FR-000", "--format", "csv"], "unknown library"),
        (["--month", "2025-03", "--network", "atlantis", "--format", "csv"], "unknown network"),
        (["--month", "2025-03", "--network", "caen-la-mer", "--library", "FR-140476101", "--format", "csv"],
         "not in network"),
        (["--month", "2025-03", "--format", "xlsx"], "--output"),
        (["--format", "csv"], "either --month"),
        (["--month", "2025-03", "--year", "2025", "--format", "csv"], "either --month"),
        (["--year", "20x5", "--format", "csv"], "YYYY"),
    ]
    for args, message in cases:
        result = stats_cli("stats", "export", *args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.stderr, (args, result.stderr)


def test_cli_year_export_and_show(stats_cli, tmp_path):
    assert stats_cli("stats", "aggregate").exit_code == 0
    result = stats_cli("stats", "export", "--year", str(Month.current().year), "--format", "csv")
    assert result.exit_code == 0
    assert result.stdout.lstrip("\ufeff").startswith("Mois;")  # the French convention by default
    shown = stats_cli("stats", "show", "--month", str(Month.current()), "--network", "calvados", "--json")
    assert shown.exit_code == 0 and shown.json()["aggregated"] is True
    counter = stats_cli("stats", "counter", "--month", str(Month.current()), "--library", "FR-140476101")
    assert counter.exit_code == 0 and json.loads(counter.stdout)["Report_Header"]["Release"] == "5"


def test_cli_export_in_the_english_style(stats_cli, tmp_path):
    out = tmp_path / "export.csv"
    assert stats_cli("stats", "aggregate", "--json").exit_code == 0
    result = stats_cli("stats", "export", "--month", "2025-03", "--network", "calvados", "--format", "csv",
                       "--csv-style", "en", "--output", str(out))
    assert result.exit_code == 0, result.output
    assert _csv(out.read_bytes(), ",")[0][:3] == ["month", "network", "library_code"]
    bad = stats_cli("stats", "export", "--month", "2025-03", "--format", "csv", "--csv-style", "de")
    assert bad.exit_code == 2


def test_french_reasons_are_the_pages_labels(stats_app):
    from flask_babel import force_locale

    from broker.services.stats.exports import FRENCH_REASONS
    from broker.web.stats.labels import REASON_LABELS

    with stats_app.test_request_context("/"), force_locale("fr"):
        assert {k: str(v) for k, v in REASON_LABELS.items()} == FRENCH_REASONS
