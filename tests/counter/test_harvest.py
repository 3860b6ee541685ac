"""``broker stats harvest`` against the SUSHI test server: 5.0 and 5.1, exceptions, faults, idempotence, members."""

from __future__ import annotations

import os

import pytest
from cop_reports import exception, pr_50, pr_51
from sqlalchemy import select

from broker.db.counter_models import CounterMetric, CounterReport, SushiAccount
from fixtures import stats as statskit

MONTH = "2026-11"
COUNTS = {"Platform": {"Searches_Platform": 40},
          "Book": {"Total_Item_Investigations": 130, "Total_Item_Requests": 120, "Unique_Item_Investigations": 90,
                   "Unique_Item_Requests": 80, "Unique_Title_Investigations": 60, "Unique_Title_Requests": 55},
          "Audiovisual": {"Total_Item_Investigations": 12, "Total_Item_Requests": 10, "Unique_Item_Investigations": 9,
                          "Unique_Item_Requests": 7, "Unique_Title_Investigations": 5, "Unique_Title_Requests": 5}}


def _stored(supplier: str | None = None) -> dict:
    from sqlalchemy import create_engine

    from broker.db.models import Supplier

    engine = create_engine(os.environ["BROKER_DATABASE_URL"])
    out = {}
    with engine.connect() as conn:
        query = (select(Supplier.slug, CounterReport.month, CounterReport.customer_id, CounterReport.status,
                        CounterReport.release, CounterMetric.metric, CounterMetric.count)
                 .join(Supplier, Supplier.id == CounterReport.supplier_id)
                 .outerjoin(CounterMetric, CounterMetric.report_id == CounterReport.id))
        for slug, month, cid, status, release, metric, count in conn.execute(query):
            if supplier and slug != supplier:
                continue
            entry = out.setdefault((slug, month, cid), {"status": status, "release": release, "metrics": {}})
            if metric:
                entry["metrics"][metric] = count
    engine.dispose()
    return out


def test_harvest_stores_51_and_50_reports_and_is_idempotent(cli, sushi):
    sushi.answers[("NET-1", MONTH)] = ("json", pr_51(MONTH, "NET-1", COUNTS, tdm={"Total_Item_Requests": 999}))
    r = cli("stats", "harvest", "--supplier", "cafeyn", "--month", MONTH, "--json")
    assert r.exit_code == 0, r.output
    assert r.json() == [{"supplier": "cafeyn", "status": "ok", "stored": [MONTH], "pending": [], "rejected": {},
                         "error": "", "reports": {}}]
    stored = _stored("cafeyn")[("cafeyn", MONTH, "NET-1")]
    assert stored["release"] == "5.1"
    assert stored["metrics"]["Total_Item_Requests"] == 130  # Book + Audiovisual; TDM left out
    assert stored["metrics"]["Searches_Platform"] == 40
    asked = sushi.requests_to("/reports/pr")
    assert asked[0]["begin_date"] == "2026-11-01" and asked[0]["end_date"] == "2026-11-30"
    assert asked[0]["api_key"] == sushi.api_key and asked[0]["customer_id"] == "NET-1"
    before = _stored()
    r = cli("stats", "harvest", "--supplier", "cafeyn", "--month", MONTH, "--json")
    assert r.exit_code == 0 and r.json()[0]["stored"] == []
    assert len(sushi.requests_to("/reports/pr")) == 1  # a complete month is not asked again
    assert _stored() == before

    sushi.answers[("NET-1", MONTH)] = ("json", pr_50(MONTH, "NET-1", COUNTS))
    r = cli("stats", "harvest", "--supplier", "pnb", "--month", MONTH, "--json")
    assert r.exit_code == 0, r.output
    stored = _stored("pnb")[("pnb", MONTH, "NET-1")]
    assert stored["release"] == "5" and stored["metrics"]["Unique_Title_Requests"] == 60
    assert sushi.requests_to("/reports/pr")[-1]["attributes_to_show"] == "Data_Type|Access_Method"


def test_exceptions_no_usage_pending_backoff(cli, sushi):
    sushi.answers[("NET-1", MONTH)] = ("exception", 3030)
    sushi.answers[("NET-1", "2026-10")] = ("exception", 3031)
    sushi.answers[("NET-1", "2026-09")] = ("json", pr_51("2026-09", "NET-1", {},
                                                          exceptions=[exception(3032, "Usage No Longer Available "
                                                                                "for Requested Dates")]))
    r = cli("stats", "harvest", "--supplier", "cafeyn", "--json")
    assert r.exit_code == 0, r.output
    result = r.json()[0]
    assert result["status"] == "pending"
    assert set(result["pending"]) == {"2026-10", "2026-09"}
    assert MONTH in result["stored"] and "2026-10" not in result["stored"]
    stored = _stored("cafeyn")
    assert stored[("cafeyn", MONTH, "NET-1")] == {"status": "no_usage", "release": "5.1", "metrics": {}}
    assert ("cafeyn", "2026-10", "NET-1") not in stored
    # later the month is ready: only the months not yet complete are asked
    sushi.answers[("NET-1", "2026-10")] = ("json", pr_51("2026-10", "NET-1", COUNTS))
    sushi.answers[("NET-1", "2026-09")] = ("exception", 1011)
    sushi.log.clear()
    r = cli("stats", "harvest", "--supplier", "cafeyn", "--json")
    assert r.exit_code == 0, r.output
    asked = [q["begin_date"][:7] for q in sushi.requests_to("/reports/pr")]
    assert asked == ["2026-09"]  # oldest first; queued (1011): the harvest of this server stops there
    assert r.json()[0]["status"] == "backoff"
    sushi.log.clear()
    r = cli("stats", "harvest", "--supplier", "cafeyn", "--json")
    assert r.json()[0]["status"] == "backoff" and sushi.requests_to("/reports/pr") == []


@pytest.mark.parametrize("answer, needle", [
    (("exception", 2020), "2020"),
    (("exception", 2010), "2010"),
    (("html",), "HTML"),
    (("truncated", pr_51(MONTH, "NET-1", COUNTS)), "truncated"),
    (("error", 500), "HTTP 500"),
])
def test_faults_exit_1_with_a_clear_error_and_nothing_stored(cli, sushi, answer, needle):
    sushi.answers[("NET-1", MONTH)] = answer
    r = cli("stats", "harvest", "--supplier", "cafeyn", "--month", MONTH, "--json")
    assert r.exit_code == 1, r.output
    assert needle in r.json()[0]["error"]
    assert sushi.api_key not in r.output
    assert _stored("cafeyn") == {}


def test_wrong_api_key_stops_the_supplier_and_shows_the_admin(cli, sushi, monkeypatch):
    monkeypatch.setenv("BAD", "wrong")
    cli("suppliers", "sushi", "cafeyn", "--url", sushi.url(), "--customer-id", "NET-1", "--requestor-id",
        sushi.requestor_id, "--api-key-env", "BAD")
    r = cli("stats", "harvest", "--supplier", "cafeyn", "--json")
    assert r.exit_code == 1 and r.json()[0]["status"] == "credentials"
    assert len(sushi.requests_to("/reports/pr")) == 0  # stopped at /members, nothing more asked
    r = cli("suppliers", "members", "cafeyn", "--json")
    from sqlalchemy import create_engine

    engine = create_engine(os.environ["BROKER_DATABASE_URL"])
    with engine.connect() as conn:
        status, error = conn.execute(select(SushiAccount.last_status, SushiAccount.last_error)).first()
    engine.dispose()
    assert status == "credentials" and "APIKey Invalid" in error


def test_oversized_answer_is_refused(cli, sushi, monkeypatch):
    from broker.services.counter import sushi as client

    monkeypatch.setattr(client, "MAX_BYTES", 50_000)
    sushi.answers[("NET-1", MONTH)] = ("oversized", 60_000)
    r = cli("stats", "harvest", "--supplier", "cafeyn", "--month", MONTH, "--json")
    assert r.exit_code == 1 and "too large" in r.json()[0]["error"]


def _malformed():
    wrong_period = pr_51(MONTH, "NET-1", COUNTS)
    wrong_period["Report_Header"]["Report_Filters"]["Begin_Date"] = "2026-10-01"
    negative = pr_51(MONTH, "NET-1", {"Book": {"Total_Item_Requests": -3}})
    shape_50_in_51 = pr_50(MONTH, "NET-1", COUNTS)
    shape_50_in_51["Report_Header"]["Release"] = "5.1"
    unique_above_total = pr_51(MONTH, "NET-1", {"Book": {"Total_Item_Requests": 3, "Unique_Item_Requests": 5}})
    other_customer = pr_50(MONTH, "SOMEONE-ELSE", COUNTS)
    bad_metric = pr_51(MONTH, "NET-1", {"Book": {"Total_Item_Requestz": 3}})
    return [(wrong_period, "not 2026-11"), (negative, "whole number"), (shape_50_in_51, "Report_Filters"),
            (unique_above_total, "exceeds"), (other_customer, "SOMEONE-ELSE"), (bad_metric, "Requestz")]


@pytest.mark.parametrize("body, reason", _malformed())
def test_malformed_report_is_rejected_with_supplier_month_and_reason(cli, sushi, body, reason):
    sushi.answers[("NET-1", MONTH)] = ("json", body)
    r = cli("stats", "harvest", "--month", MONTH, "--json")
    assert r.exit_code == 1, r.output
    by_supplier = {x["supplier"]: x for x in r.json()}
    target = "pnb" if body["Report_Header"].get("Customer_ID") == "SOMEONE-ELSE" else None
    rejected = [x for x in r.json() if x["status"] == "rejected"]
    assert rejected, r.output
    assert any(reason in x["rejected"][MONTH] for x in rejected)
    if target:
        assert by_supplier[target]["status"] == "rejected"
    assert all(MONTH not in x["stored"] for x in rejected)


def test_one_supplier_failing_does_not_stop_the_others(cli, sushi, monkeypatch):
    monkeypatch.setenv("SUSHI_KEY", sushi.api_key)
    cli("suppliers", "sushi", "cafeyn", "--url", "http://127.0.0.1:1/r51", "--customer-id", "NET-1",
        "--api-key-env", "SUSHI_KEY")
    sushi.answers[("NET-1", "2026-10")] = ("json", pr_50("2026-10", "NET-1", COUNTS))
    r = cli("stats", "harvest", "--month", "2026-10", "--json")
    assert r.exit_code == 1
    statuses = {x["supplier"]: x for x in r.json()}
    assert statuses["cafeyn"]["status"] == "fault" and "cannot connect" in statuses["cafeyn"]["error"]
    assert statuses["pnb"]["stored"] == ["2026-10"]


@pytest.mark.parametrize("args", [("--month", "2026-13"), ("--month", "2026-12"), ("--month", "2099-01"),
                                  ("--supplier", "nope")])
def test_bad_input_exits_2(cli, args):
    r = cli("stats", "harvest", *args)
    assert r.exit_code == 2, r.output


def test_members_suggested_confirmed_and_harvested_per_library(cli, sushi):
    sushi.members["NET-1"] = [
        {"Customer_ID": "NET-1", "Name": "Réseau"},
        {"Customer_ID": "M-7L", "Name": "Médiathèque Les 7 Lieux (Bayeux)",
         "Institution_ID": {"ISIL": [statskit.BAYEUX]}},
        {"Customer_ID": "M-VIRE", "Name": "MEDIATHEQUE DE VIRE"},
        {"Customer_ID": "M-X", "Name": "Somewhere unknown"},
    ]
    r = cli("suppliers", "members", "cafeyn", "--refresh", "--json")
    assert r.exit_code == 0, r.output
    rows = {m["customer_id"]: m for m in r.json()}
    assert set(rows) == {"M-7L", "M-VIRE", "M-X"}
    assert rows["M-7L"]["suggested_library"] == statskit.BAYEUX
    assert rows["M-VIRE"]["suggested_library"] == statskit.VIRE
    assert rows["M-X"]["suggested_library"] is None and not any(m["confirmed"] for m in rows.values())
    # nothing mapped yet: no report is asked
    r = cli("stats", "harvest", "--supplier", "cafeyn", "--month", MONTH, "--json")
    assert r.exit_code == 1 and "not mapped" in r.json()[0]["error"]
    assert sushi.requests_to("/reports/pr") == []
    assert cli("suppliers", "map", "cafeyn", "M-7L").exit_code == 0
    assert cli("suppliers", "map", "cafeyn", "M-VIRE", statskit.VIRE).exit_code == 0
    r = cli("suppliers", "map", "cafeyn", "M-X")
    assert r.exit_code == 2 and "no library is suggested" in r.output
    r = cli("suppliers", "map", "cafeyn", "M-X", "FR-000000000")
    assert r.exit_code == 2
    sushi.answers[("M-7L", MONTH)] = ("json", pr_51(MONTH, "M-7L", {"Book": {"Total_Item_Requests": 30}}))
    sushi.answers[("M-VIRE", MONTH)] = ("json", pr_51(MONTH, "M-VIRE", {"Book": {"Total_Item_Requests": 12}}))
    r = cli("stats", "harvest", "--supplier", "cafeyn", "--month", MONTH, "--json")
    assert r.exit_code == 0, r.output
    assert "M-X" in r.json()[0]["error"]  # the unmapped member is named
    stored = _stored("cafeyn")
    assert stored[("cafeyn", MONTH, "M-7L")]["metrics"] == {"Total_Item_Requests": 30}
    assert stored[("cafeyn", MONTH, "M-VIRE")]["metrics"] == {"Total_Item_Requests": 12}


def test_a_month_of_members_is_stored_whole_or_not_at_all(cli, sushi):
    sushi.members["NET-1"] = [{"Customer_ID": "M-7L", "Name": "Médiathèque Les 7 Lieux"},
                              {"Customer_ID": "M-VIRE", "Name": "Médiathèque de Vire"}]
    cli("suppliers", "members", "cafeyn", "--refresh")
    cli("suppliers", "map", "cafeyn", "M-7L", statskit.BAYEUX)
    cli("suppliers", "map", "cafeyn", "M-VIRE", statskit.VIRE)
    sushi.answers[("M-7L", MONTH)] = ("json", pr_51(MONTH, "M-7L", {"Book": {"Total_Item_Requests": 30}}))
    sushi.answers[("M-VIRE", MONTH)] = ("html",)
    r = cli("stats", "harvest", "--supplier", "cafeyn", "--month", MONTH, "--json")
    assert r.exit_code == 1
    assert _stored("cafeyn") == {}


def test_the_api_key_follows_a_secret_rotation(cli, sushi, monkeypatch):
    new = "a-new-instance-secret-for-the-sushi-tests-0123456789"
    monkeypatch.delenv("BROKER_SECRET_KEY")
    monkeypatch.setenv("BROKER_SECRET_KEYS", f"{new},{statskit.SECRET}")
    r = cli("secrets", "rotate", "--json")
    assert r.exit_code == 0, r.output
    assert r.json()["reencrypted"]["sushi_accounts"] == 2
    monkeypatch.setenv("BROKER_SECRET_KEYS", new)  # the old key gone: the stored API keys still open
    sushi.answers[("NET-1", MONTH)] = ("json", pr_51(MONTH, "NET-1", COUNTS))
    r = cli("stats", "harvest", "--supplier", "cafeyn", "--month", MONTH, "--json")
    assert r.exit_code == 0 and r.json()[0]["stored"] == [MONTH]
    assert sushi.requests_to("/reports/pr")[-1]["api_key"] == sushi.api_key
