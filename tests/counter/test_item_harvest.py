"""``broker stats harvest`` of the database, title and item reports (DR, TR, IR) the SUSHI server offers."""

from __future__ import annotations

import json
import os

import pytest
from cop_reports import exception, item_report_50, item_report_51, pr_51
from sqlalchemy import create_engine, select
from test_harvest import COUNTS, MONTH

from broker.db.counter_models import CounterItem, CounterReport, SushiReportState
from broker.db.models import Supplier
from fixtures import stats as statskit

TITLES = [
    {"name": "Le Monde", "ids": {"Online_ISSN": "1950-6244", "Proprietary": "DP:LM"},
     "counts": {"Newspaper_or_Newsletter": {"Total_Item_Investigations": 50, "Total_Item_Requests": 40,
                                            "Unique_Item_Investigations": 30, "Unique_Item_Requests": 25,
                                            "Unique_Title_Investigations": 20, "Unique_Title_Requests": 18}},
     "tdm": {"Total_Item_Requests": 500}},
    {"name": "Les Misérables", "ids": {"ISBN": "978-2-07-040850-4", "DOI": "10.9999/miserables"},
     "counts": {"Book": {"Total_Item_Investigations": 12, "Total_Item_Requests": 9, "Unique_Item_Investigations": 6,
                         "Unique_Item_Requests": 5, "Unique_Title_Investigations": 4, "Unique_Title_Requests": 4,
                         "No_License": 2}}},
]
DATABASES = [{"name": "Europresse", "ids": {"Proprietary": "DP:EUROPRESSE"},
              "counts": {"Database_Aggregated": {"Searches_Regular": 70, "Searches_Automated": 3},
                         "Newspaper_or_Newsletter": {"Total_Item_Investigations": 30, "Total_Item_Requests": 20}}}]
ITEMS = [{"name": "Chapitre 1 : Fantine", "parent": "Les Misérables", "ids": {"DOI": "10.9999/miserables.1"},
          "counts": {"Book_Segment": {"Total_Item_Investigations": 7, "Total_Item_Requests": 6,
                                      "Unique_Item_Investigations": 4, "Unique_Item_Requests": 3}}}]


def _engine():
    return create_engine(os.environ["BROKER_DATABASE_URL"])


def items_stored(slug: str, report_id: str) -> dict:
    """``{(month, customer, name): {metrics…, "_data_types", "_parent", "_ids"}}`` for the supplier's report."""
    engine = _engine()
    out = {}
    with engine.connect() as conn:
        query = (select(CounterReport.month, CounterReport.customer_id, CounterItem)
                 .join(CounterItem, CounterItem.report_id == CounterReport.id)
                 .join(Supplier, Supplier.id == CounterReport.supplier_id)
                 .where(Supplier.slug == slug, CounterReport.report_id == report_id))
        for row in conn.execute(query):
            metrics = {m: getattr(row, m.lower()) for m in ("Total_Item_Requests", "Unique_Item_Requests",
                                                            "Unique_Title_Requests", "Total_Item_Investigations",
                                                            "Searches_Regular", "Searches_Automated", "No_License")
                       if getattr(row, m.lower()) is not None}
            out[(row.month, row.customer_id, row.name)] = {**metrics, "_data_types": row.data_types,
                                                           "_parent": row.parent,
                                                           "_ids": json.loads(row.identifiers)}
    engine.dispose()
    return out


def reports_stored(slug: str) -> dict:
    engine = _engine()
    with engine.connect() as conn:
        rows = conn.execute(select(CounterReport.report_id, CounterReport.month, CounterReport.customer_id,
                                   CounterReport.status).join(Supplier, Supplier.id == CounterReport.supplier_id)
                            .where(Supplier.slug == slug)).all()
    engine.dispose()
    return {(r.report_id, r.month, r.customer_id): r.status for r in rows}


def states(slug: str) -> dict:
    engine = _engine()
    with engine.connect() as conn:
        rows = conn.execute(select(SushiReportState).join(Supplier, Supplier.id == SushiReportState.supplier_id)
                            .where(Supplier.slug == slug)).all()
    engine.dispose()
    return {r.report_id: (r.offered, r.last_status, r.last_error) for r in rows}


def _offer_all(sushi, month=MONTH, customer="NET-1", release="5.1"):
    build = item_report_51 if release == "5.1" else item_report_50
    sushi.offered = ["PR", "DR", "TR", "IR"]
    sushi.answers[(customer, month)] = ("json", pr_51(month, customer, COUNTS))
    sushi.answers[(customer, month, "DR")] = ("json", build("DR", month, customer, DATABASES))
    sushi.answers[(customer, month, "TR")] = ("json", build("TR", month, customer, TITLES))
    sushi.answers[(customer, month, "IR")] = ("json", build("IR", month, customer, ITEMS))


@pytest.mark.parametrize("slug, release", [("cafeyn", "5.1"), ("pnb", "5")])
def test_offered_reports_are_harvested_beside_pr_and_idempotent(cli, sushi, slug, release):
    _offer_all(sushi, release=release)
    if release == "5":
        sushi.answers[("NET-1", MONTH)] = ("json", __import__("cop_reports").pr_50(MONTH, "NET-1", COUNTS))
    r = cli("stats", "harvest", "--supplier", slug, "--month", MONTH, "--json")
    assert r.exit_code == 0, r.output
    result = r.json()[0]
    assert result["status"] == "ok" and result["stored"] == [MONTH]
    assert {rid: x["stored"] for rid, x in result["reports"].items()} == {"DR": [MONTH], "TR": [MONTH],
                                                                           "IR": [MONTH]}
    titles = items_stored(slug, "TR")
    monde = titles[(MONTH, "NET-1", "Le Monde")]
    assert monde["Total_Item_Requests"] == 40  # text and data mining (500) left out
    assert monde["_data_types"] == "Newspaper_or_Newsletter" and monde["_ids"]["Online_ISSN"] == "1950-6244"
    assert titles[(MONTH, "NET-1", "Les Misérables")]["No_License"] == 2
    europresse = items_stored(slug, "DR")[(MONTH, "NET-1", "Europresse")]
    assert europresse["Searches_Regular"] == 70 and europresse["Total_Item_Requests"] == 20
    assert europresse["_data_types"] == "Database_Aggregated|Newspaper_or_Newsletter"
    chapter = items_stored(slug, "IR")[(MONTH, "NET-1", "Chapitre 1 : Fantine")]
    assert chapter["Total_Item_Requests"] == 6 and chapter["_parent"] == "Les Misérables"
    asked = sushi.requests_to("/reports/tr")
    assert len(asked) == 1 and asked[0]["begin_date"] == f"{MONTH}-01" and asked[0]["end_date"] == f"{MONTH}-30"
    assert "Access_Method" in asked[0]["attributes_to_show"]
    assert sushi.requests_to("/reports/ir")[0]["include_parent_details"] == "True"
    assert {rid: s[:2] for rid, s in states(slug).items()} == {"PR": (True, "ok"), "DR": (True, "ok"),
                                                              "TR": (True, "ok"), "IR": (True, "ok")}
    before = items_stored(slug, "TR")
    r = cli("stats", "harvest", "--supplier", slug, "--month", MONTH, "--json")
    assert r.exit_code == 0 and all(x["stored"] == [] for x in r.json()[0]["reports"].values())
    assert len(sushi.requests_to("/reports/tr")) == 1  # a complete month is not asked again
    assert items_stored(slug, "TR") == before


def test_reports_not_offered_are_not_asked(cli, sushi):
    sushi.offered = ["PR", "TR"]
    sushi.answers[("NET-1", MONTH)] = ("json", pr_51(MONTH, "NET-1", COUNTS))
    sushi.answers[("NET-1", MONTH, "TR")] = ("json", item_report_51("TR", MONTH, "NET-1", TITLES))
    r = cli("stats", "harvest", "--supplier", "cafeyn", "--month", MONTH, "--json")
    assert r.exit_code == 0, r.output
    assert list(r.json()[0]["reports"]) == ["TR"]
    assert sushi.requests_to("/reports/dr") == [] and sushi.requests_to("/reports/ir") == []
    assert states("cafeyn")["DR"][:2] == (False, "")


def test_exceptions_per_report(cli, sushi):
    sushi.offered = ["PR", "DR", "TR", "IR"]
    sushi.answers[("NET-1", MONTH)] = ("json", pr_51(MONTH, "NET-1", COUNTS))
    sushi.answers[("NET-1", MONTH, "DR")] = ("exception", 3030)  # no usage: recorded as zero
    sushi.answers[("NET-1", MONTH, "TR")] = ("exception", 3031)  # not ready: asked again later
    sushi.answers[("NET-1", MONTH, "IR")] = ("json", item_report_51("IR", MONTH, "NET-1", [], exceptions=[
        exception(3032, "Usage No Longer Available for Requested Dates")]))
    r = cli("stats", "harvest", "--supplier", "cafeyn", "--month", MONTH, "--json")
    assert r.exit_code == 0, r.output
    result = r.json()[0]
    assert result["status"] == "pending" and result["stored"] == [MONTH]
    assert result["reports"]["DR"]["stored"] == [MONTH]
    assert result["reports"]["TR"] == {"status": "pending", "stored": [], "pending": [MONTH], "rejected": {},
                                       "error": ""}
    assert result["reports"]["IR"]["status"] == "pending"
    stored = reports_stored("cafeyn")
    assert stored[("DR", MONTH, "NET-1")] == "no_usage" and ("TR", MONTH, "NET-1") not in stored
    # the month becomes ready: only what is missing is asked
    sushi.answers[("NET-1", MONTH, "TR")] = ("json", item_report_51("TR", MONTH, "NET-1", TITLES))
    sushi.log.clear()
    r = cli("stats", "harvest", "--supplier", "cafeyn", "--month", MONTH, "--json")
    assert r.json()[0]["reports"]["TR"]["stored"] == [MONTH]
    assert sushi.requests_to("/reports/pr") == [] and sushi.requests_to("/reports/dr") == []
    assert len(sushi.requests_to("/reports/tr")) == 1


def test_backoff_on_a_title_report_stops_the_supplier(cli, sushi):
    _offer_all(sushi)
    sushi.answers[("NET-1", MONTH, "TR")] = ("exception", 1011)
    r = cli("stats", "harvest", "--supplier", "cafeyn", "--month", MONTH, "--json")
    assert r.exit_code == 0, r.output
    assert r.json()[0]["status"] == "backoff"
    assert sushi.requests_to("/reports/ir") == []  # nothing more asked of a busy server
    assert states("cafeyn")["TR"][1] == "backoff"
    sushi.log.clear()
    r = cli("stats", "harvest", "--supplier", "cafeyn", "--month", MONTH, "--json")
    assert r.json()[0]["status"] == "backoff" and sushi.requests_to("/reports/tr") == []


@pytest.mark.parametrize("code", [2010, 2020])
def test_credentials_refused_on_a_report_stop_and_show_the_admin(cli, sushi, code):
    _offer_all(sushi)
    sushi.answers[("NET-1", MONTH, "DR")] = ("exception", code)
    r = cli("stats", "harvest", "--supplier", "cafeyn", "--month", MONTH, "--json")
    assert r.exit_code == 1
    assert r.json()[0]["status"] == "credentials" and str(code) in r.json()[0]["error"]
    assert sushi.requests_to("/reports/tr") == []
    assert states("cafeyn")["DR"][1] == "credentials"


def test_a_report_the_server_does_not_support_is_skipped(cli, sushi):
    _offer_all(sushi)
    sushi.unsupported = {"IR"}  # /reports lists it, yet the server answers 3000 Report Not Supported
    r = cli("stats", "harvest", "--supplier", "cafeyn", "--json")
    assert r.exit_code == 0, r.output
    ir = r.json()[0]["reports"]["IR"]
    assert ir["status"] == "unsupported" and "3000" in ir["error"]
    assert len(sushi.requests_to("/reports/ir")) == 1  # not asked again for the other months
    assert MONTH in r.json()[0]["reports"]["TR"]["stored"]
    assert states("cafeyn")["IR"][1] == "unsupported"


def _malformed():
    wrong_month = item_report_51("TR", MONTH, "NET-1", TITLES)
    wrong_month["Report_Header"]["Report_Filters"]["End_Date"] = "2026-12-31"
    negative = item_report_51("TR", MONTH, "NET-1", [{"name": "X", "counts": {"Book": {"Total_Item_Requests": -1}}}])
    no_title = item_report_51("TR", MONTH, "NET-1", TITLES)
    del no_title["Report_Items"][1]["Title"]
    shape_50 = item_report_50("TR", MONTH, "NET-1", TITLES)
    shape_50["Report_Header"]["Release"] = "5.1"
    searches_in_tr = item_report_51("TR", MONTH, "NET-1", [{"name": "X", "counts": {"Book": {"Searches_Regular": 3}}}])
    unique_above = item_report_51("TR", MONTH, "NET-1", [
        {"name": "Y", "counts": {"Book": {"Total_Item_Requests": 2, "Unique_Item_Requests": 5}}}])
    wrong_report = item_report_51("DR", MONTH, "NET-1", DATABASES)
    other_month_count = item_report_51("TR", MONTH, "NET-1", TITLES)
    other_month_count["Report_Items"][0]["Attribute_Performance"][0]["Performance"]["Total_Item_Requests"] = {
        "2026-10": 4}
    return [(wrong_month, "not 2026-11"), (negative, "whole number"), (no_title, "no Title"),
            (shape_50, "Report_Filters"), (searches_in_tr, "not a metric of the TR report"),
            (unique_above, "exceeds"), (wrong_report, "expected TR"), (other_month_count, "outside 2026-11")]


@pytest.mark.parametrize("body, reason", _malformed())
def test_malformed_title_report_is_rejected_with_supplier_month_report_and_reason(cli, sushi, body, reason):
    _offer_all(sushi)
    sushi.answers[("NET-1", MONTH, "TR")] = ("json", body)
    r = cli("stats", "harvest", "--supplier", "cafeyn", "--month", MONTH, "--json")
    assert r.exit_code == 1, r.output
    result = r.json()[0]
    assert result["supplier"] == "cafeyn" and result["status"] == "rejected"
    assert reason in result["reports"]["TR"]["rejected"][MONTH]
    assert f"TR {MONTH}" in result["error"] and reason in result["error"]
    # the other reports of the month are stored; the title report is not
    assert result["stored"] == [MONTH] and result["reports"]["DR"]["stored"] == [MONTH]
    assert items_stored("cafeyn", "TR") == {}
    offered, status, error = states("cafeyn")["TR"]
    assert status == "rejected" and reason in error


def test_a_rejected_report_keeps_the_last_good_one(cli, sushi):
    """A member mapped later makes the month incomplete; the new answer is refused: the stored one stays."""
    sushi.offered = ["PR", "TR"]
    sushi.members["NET-1"] = [{"Customer_ID": "M-7L", "Name": "Médiathèque Les 7 Lieux"},
                              {"Customer_ID": "M-VIRE", "Name": "Médiathèque de Vire"}]
    cli("suppliers", "members", "cafeyn", "--refresh")
    assert cli("suppliers", "map", "cafeyn", "M-7L", statskit.BAYEUX).exit_code == 0
    for cid in ("M-7L", "M-VIRE"):
        sushi.answers[(cid, MONTH)] = ("json", pr_51(MONTH, cid, {"Book": {"Total_Item_Requests": 3}}))
        sushi.answers[(cid, MONTH, "TR")] = ("json", item_report_51("TR", MONTH, cid, TITLES))
    r = cli("stats", "harvest", "--supplier", "cafeyn", "--month", MONTH, "--json")
    assert r.json()[0]["reports"]["TR"]["stored"] == [MONTH]
    good = items_stored("cafeyn", "TR")
    assert set(k[1] for k in good) == {"M-7L"}
    assert cli("suppliers", "map", "cafeyn", "M-VIRE", statskit.VIRE).exit_code == 0
    broken = item_report_51("TR", MONTH, "M-7L", TITLES)
    broken["Report_Items"][0]["Attribute_Performance"] = "nope"
    sushi.answers[("M-7L", MONTH, "TR")] = ("json", broken)
    r = cli("stats", "harvest", "--supplier", "cafeyn", "--month", MONTH, "--json")
    assert r.exit_code == 1
    assert "M-7L" in r.json()[0]["reports"]["TR"]["rejected"][MONTH]
    assert items_stored("cafeyn", "TR") == good  # neither replaced nor half-written
    # the supplier fixes it: both members' reports are stored, the first one replaced (not doubled)
    sushi.answers[("M-7L", MONTH, "TR")] = ("json", item_report_51("TR", MONTH, "M-7L", TITLES[:1]))
    r = cli("stats", "harvest", "--supplier", "cafeyn", "--month", MONTH, "--json")
    assert r.exit_code == 0, r.output
    now = items_stored("cafeyn", "TR")
    assert sorted(k[1:] for k in now) == [("M-7L", "Le Monde"), ("M-VIRE", "Le Monde"), ("M-VIRE", "Les Misérables")]
    engine = _engine()
    with engine.connect() as conn:
        from sqlalchemy import func

        assert conn.scalar(select(func.count()).select_from(CounterItem)) == 3  # no orphan left behind
    engine.dispose()


def test_an_oversized_title_report_is_a_fault(cli, sushi, monkeypatch):
    from broker.services.counter import sushi as client

    monkeypatch.setattr(client, "ITEM_MAX_BYTES", 50_000)
    _offer_all(sushi)
    sushi.answers[("NET-1", MONTH, "TR")] = ("oversized", 60_000)
    r = cli("stats", "harvest", "--supplier", "cafeyn", "--month", MONTH, "--json")
    assert r.exit_code == 1 and "too large" in r.json()[0]["error"]
    assert r.json()[0]["stored"] == [MONTH]  # the platform report, stored before, stays
    assert reports_stored("cafeyn") == {("PR", MONTH, "NET-1"): "complete", ("DR", MONTH, "NET-1"): "complete"}


def test_a_large_title_report_is_stored_whole(cli, sushi):
    many = [{"name": f"Titre {n:05d}", "ids": {"ISBN": f"978-2-{n:07d}"},
             "counts": {"Book": {"Total_Item_Requests": n % 7 + 1, "Total_Item_Investigations": n % 7 + 2}}}
            for n in range(12_000)]
    sushi.offered = ["PR", "TR"]
    sushi.answers[("NET-1", MONTH, "TR")] = ("json", item_report_51("TR", MONTH, "NET-1", many))
    r = cli("stats", "harvest", "--supplier", "cafeyn", "--month", MONTH, "--json")
    assert r.exit_code == 0, r.output
    engine = _engine()
    with engine.connect() as conn:
        from sqlalchemy import func

        assert conn.scalar(select(func.count()).select_from(CounterItem)) == 12_000
    engine.dispose()


def test_the_api_and_cli_show_each_report_state(cli, sushi):
    _offer_all(sushi)
    sushi.offered = ["PR", "TR"]
    cli("stats", "harvest", "--supplier", "cafeyn", "--month", MONTH)
    r = cli("suppliers", "sushi", "cafeyn", "--url", sushi.url(), "--customer-id", "NET-1", "--requestor-id",
            sushi.requestor_id, "--json")
    assert r.exit_code == 0, r.output
    reports = {x["report"]: x for x in r.json()["reports"]}
    assert reports["TR"]["offered"] is True and reports["TR"]["months"] == 1
    assert reports["DR"]["offered"] is False and reports["PR"]["months"] == 1
    r = cli("suppliers", "sushi", "cafeyn", "--url", sushi.url(), "--customer-id", "NET-1", "--requestor-id",
            sushi.requestor_id)
    assert "reports: PR " in r.output and "DR not offered" in r.output
