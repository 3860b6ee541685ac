"""A library's titles (TR), databases (DR) and items (IR): attributed like the platform report, and exported."""

from __future__ import annotations

import csv
import io
import json
import os

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session
from test_item_harvest import _offer_all

from broker.db.counter_models import CounterItem, CounterReport
from broker.db.stats_models import StatsSupplierMonth
from broker.services.counter import titles
from fixtures import stats as statskit

MONTH = "2026-11"


def add_report(session, sid: int, report_id: str, customer: str, library_id: int | None,
               items: dict[str, dict[str, int]], month: str = MONTH) -> None:
    """A stored report whose ``items`` are ``{name: {metric: count}}`` (keyed by name)."""
    report = CounterReport(supplier_id=sid, month=month, customer_id=customer, library_id=library_id,
                           report_id=report_id)
    session.add(report)
    session.flush()
    for name, metrics in items.items():
        session.add(CounterItem(report_id=report.id, item_key=f"name:{name.lower()}", name=name,
                                identifiers=json.dumps({"Proprietary": f"DP:{name}"}), data_types="Book",
                                **{m.lower(): n for m, n in metrics.items()}))


def setup_titles(app, *, network: dict | None = None, members: dict | None = None, patrons: dict | None = None,
                 report_id: str = "TR"):
    """Cafeyn's month: accesses per library code (``patrons``) and ``report_id`` reports of ``{name: {metric: count}}``."""

    def store(session, sid: int, customer: str, library_id: int | None, items: dict) -> None:
        add_report(session, sid, report_id, customer, library_id, items)

    return statskit.supplier_month(app, MONTH, store, patrons=patrons, network=network, members=members)


def _lines(app, codes, report_id="TR", **kw):
    from broker.db.models import Library

    runtime = app.extensions["broker"]
    with runtime.db.session() as s:
        libs = [s.query(Library).filter_by(code=c).one() for c in codes]
        return titles.library_titles(s, libs, [MONTH], report_id, **kw)


def test_a_network_title_report_is_shared_title_by_title_pro_rata(stats_app):
    setup_titles(stats_app, network={"Le Monde": {"Total_Item_Requests": 100, "Unique_Item_Requests": 10},
                                     "Télérama": {"Total_Item_Requests": 7}},
                 patrons={statskit.BAYEUX: 1, statskit.VIRE: 2})
    bayeux = {t.name: t for t in _lines(stats_app, [statskit.BAYEUX])}
    vire = {t.name: t for t in _lines(stats_app, [statskit.VIRE])}
    # 100 → 33.3 / 66.7: 33 and 67 (largest remainder); 7 → 2.33 / 4.67: 2 and 5
    assert bayeux["Le Monde"].metrics == {"Total_Item_Requests": 33, "Unique_Item_Requests": 3}
    assert vire["Le Monde"].metrics == {"Total_Item_Requests": 67, "Unique_Item_Requests": 7}
    assert bayeux["Télérama"].metrics["Total_Item_Requests"] + vire["Télérama"].metrics["Total_Item_Requests"] == 7
    assert bayeux["Le Monde"].method == "prorata"
    both = {t.name: t for t in _lines(stats_app, [statskit.BAYEUX, statskit.VIRE])}
    assert both["Le Monde"].metrics["Total_Item_Requests"] == 100  # the parts add up to the supplier's figure


def test_member_reports_go_to_their_library_ranked_by_the_metric(stats_app):
    setup_titles(stats_app, members={statskit.BAYEUX: {"Le Monde": {"Total_Item_Requests": 4,
                                                                    "Total_Item_Investigations": 9},
                                                       "Télérama": {"Total_Item_Requests": 8},
                                                       "Rien": {"No_License": 0}},
                                     statskit.VIRE: {"Le Monde": {"Total_Item_Requests": 50}}})
    lines = _lines(stats_app, [statskit.BAYEUX])
    assert [t.name for t in lines] == ["Télérama", "Le Monde"]  # nothing used: not listed
    assert lines[0].method == "member" and lines[0].supplier == "cafeyn"
    by_investigations = _lines(stats_app, [statskit.BAYEUX], metric="Total_Item_Investigations", limit=1)
    assert [t.name for t in by_investigations] == ["Le Monde"]


def test_nobody_used_the_supplier_through_sesame_no_title_is_credited(stats_app):
    setup_titles(stats_app, network={"Le Monde": {"Total_Item_Requests": 100}})
    assert _lines(stats_app, [statskit.BAYEUX]) == []


@pytest.mark.parametrize("value", ["pr", "xx", ""])
def test_bad_report_names_are_refused(value):
    from broker.errors import InvalidInput

    if value == "":
        assert titles.report_arg(value) == "TR"
        return
    with pytest.raises(InvalidInput):
        titles.report_arg(value)
    with pytest.raises(InvalidInput):
        titles.metric_arg("IR", "Searches_Regular")


def _patrons(plan: dict[str, int]) -> None:
    """Unique patrons of cafeyn in November, straight into the CLI's database."""
    engine = create_engine(os.environ["BROKER_DATABASE_URL"])
    from broker.db.models import Library, Partner, Supplier

    with Session(engine) as s:
        sid = s.query(Supplier).filter_by(slug="cafeyn").one().id
        for code, n in plan.items():
            lib = s.query(Library).filter_by(code=code).one()
            network_id = s.get(Partner, lib.partner_id).network_id
            s.add(StatsSupplierMonth(month=MONTH, network_id=network_id, library_id=lib.id, supplier_id=sid,
                                     accesses=n, unique_patrons=n))
        s.commit()
    engine.dispose()


def test_harvest_then_export_a_library_titles_as_csv_and_json(cli, sushi):
    _offer_all(sushi)
    assert cli("stats", "harvest", "--supplier", "cafeyn", "--month", MONTH).exit_code == 0
    _patrons({statskit.BAYEUX: 1, statskit.VIRE: 3})
    r = cli("stats", "export", "--month", MONTH, "--library", statskit.BAYEUX, "--format", "json", "--report", "tr")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["report"] == "TR" and doc["selection"] == statskit.BAYEUX and doc["period"] == MONTH
    assert {"id": "Total_Item_Requests", "label": "Contenus consultés (total)"} in doc["metrics"]
    first = doc["lines"][0]
    assert first["name"] == "Le Monde" and first["metrics"]["Total_Item_Requests"] == 10  # a quarter of 40
    assert first["method_label"] == "réparti au prorata des accès"
    assert first["identifiers"]["Online_ISSN"] == "1950-6244"
    r = cli("stats", "export", "--month", MONTH, "--library", statskit.BAYEUX, "--format", "csv", "--report", "TR")
    assert r.exit_code == 0, r.output
    rows = list(csv.reader(io.StringIO(r.output.lstrip("\ufeff")), delimiter=";"))
    header = rows[0]
    assert "Contenus consultés (total) (Total_Item_Requests)" in header and "Titre" in header
    line = dict(zip(header, rows[1]))
    assert line["Titre"] == "Le Monde" and line["Contenus consultés (total) (Total_Item_Requests)"] == "10"
    assert line["Origine des chiffres du fournisseur"] == "réparti au prorata des accès"
    r = cli("stats", "export", "--month", MONTH, "--network", "calvados", "--format", "csv", "--report", "dr",
            "--csv-style", "en")
    rows = list(csv.reader(io.StringIO(r.output.lstrip("\ufeff"))))
    line = dict(zip(rows[0], rows[1]))
    assert line["name"] == "Europresse" and line["Searches_Regular"] == "70" and line["method"] == "prorata"
    r = cli("stats", "export", "--month", MONTH, "--library", statskit.BAYEUX, "--format", "json", "--report", "ir",
            "--limit", "1")
    assert json.loads(r.output)["lines"][0]["parent"] == "Les Misérables"


@pytest.mark.parametrize("args", [
    ("--format", "xlsx", "--report", "tr", "--library", statskit.BAYEUX),  # binary: --output needed
    ("--format", "csv", "--report", "tr"),
    ("--format", "csv", "--report", "pr", "--library", statskit.BAYEUX),
    ("--format", "csv", "--report", "ir", "--metric", "Searches_Regular", "--library", statskit.BAYEUX),
    ("--format", "csv", "--metric", "Total_Item_Requests", "--library", statskit.BAYEUX),
    ("--format", "csv", "--report", "tr", "--table", "refusals", "--library", statskit.BAYEUX),
])
def test_bad_export_options_exit_2(stats_cli, args):
    r = stats_cli("stats", "export", "--month", MONTH, *args)
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output


def test_a_titles_export_as_xlsx(stats_cli, tmp_path):
    from openpyxl import load_workbook

    path = tmp_path / "titres.xlsx"
    r = stats_cli("stats", "export", "--year", "2026", "--network", "calvados", "--report", "dr", "--format", "xlsx",
                  "--output", str(path))
    assert r.exit_code == 0, r.output
    sheet = load_workbook(path).active
    assert sheet.title == "Rapport bases de données"
    assert sheet["F1"].value == "Base de données" and sheet.max_row == 1  # no usage: the headings alone


def test_the_documented_export_commands_run(stats_cli):
    """The ``broker stats export --report`` examples of docs/statistics.md, as written."""
    import re
    import shlex
    from pathlib import Path

    text = (Path(__file__).parents[2] / "docs" / "statistics.md").read_text(encoding="utf-8")
    commands = [line for block in re.findall(r"```\n(.*?)```", text, re.S) for line in block.splitlines()
                if line.startswith("broker stats export") and "--report" in line]
    assert len(commands) == 3
    for command in commands:
        r = stats_cli(*shlex.split(command)[1:])
        assert r.exit_code == 0, (command, r.output)
