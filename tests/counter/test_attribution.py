"""Attribution to libraries: members' reports to their library, network reports shared pro rata of unique patrons."""

from __future__ import annotations

import csv
import io
import json
from contextlib import contextmanager

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broker.db.counter_models import CounterMetric, CounterReport
from broker.services.counter.attribution import attribute, largest_remainder
from broker.services.stats import Month, figures, select_scope
from broker.services.stats.exports import COLUMNS, render
from fixtures import stats as statskit

MONTH = "2026-11"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10**9), st.dictionaries(st.integers(1, 50), st.integers(1, 10**6), min_size=1, max_size=8))
def test_shares_add_up_and_stay_within_one_of_the_exact_share(total, weights):
    shares = largest_remainder(total, weights, {})
    assert sum(shares.values()) == total
    whole = sum(weights.values())
    for key, share in shares.items():
        assert abs(share - total * weights[key] / whole) < 1


def test_rounding_is_largest_remainder_ties_by_library_code():
    # 10 shared 1:1:1 → 3.33 each; the one unit left goes to the first code
    assert largest_remainder(10, {1: 1, 2: 1, 3: 1}, {1: "C", 2: "A", 3: "B"}) == {1: 3, 2: 4, 3: 3}
    # 7 shared 1:2 → 2.33 and 4.67: the larger remainder takes the unit
    assert largest_remainder(7, {1: 1, 2: 2}, {}) == {1: 2, 2: 5}


def _setup(app, *, network_report: dict | None, member_reports: dict | None = None, patrons: dict | None = None):
    """Cafeyn's month: accesses per library code (``patrons``) and platform reports of ``{metric: count}``."""

    def add_report(session, sid: int, customer: str, library_id: int | None, metrics: dict) -> None:
        session.add(CounterReport(supplier_id=sid, month=MONTH, customer_id=customer, library_id=library_id,
                                  metrics=[CounterMetric(metric=k, count=v) for k, v in metrics.items()]))

    return statskit.supplier_month(app, MONTH, add_report, patrons=patrons, network=network_report,
                                   members=member_reports)


@contextmanager
def _vire_in_november(app, network_report: dict):
    """Vire's November (network report shared 1:2 with Bayeux): (its monthly figures, its scope), in a session."""
    _setup(app, network_report=network_report, patrons={statskit.BAYEUX: 1, statskit.VIRE: 2})
    runtime = app.extensions["broker"]
    with runtime.db.session() as s:
        selection = select_scope(s, library=statskit.VIRE)
        yield figures(s, selection, [Month(2026, 11)]), selection


def test_network_report_is_shared_pro_rata_of_unique_patrons(stats_app):
    sid, known = _setup(stats_app, network_report={"Total_Item_Requests": 1001, "Searches_Platform": 7},
                        patrons={statskit.BAYEUX: 1, statskit.VIRE: 2, statskit.CAEN: 7})
    runtime = stats_app.extensions["broker"]
    with runtime.db.session() as s:
        result = attribute(s, MONTH)
    by_code = {code: result.shares[(known["library"][code], sid)] for code in
               (statskit.BAYEUX, statskit.VIRE, statskit.CAEN)}
    tir = {c: share.metrics["Total_Item_Requests"] for c, share in by_code.items()}
    # exact: 100.1, 200.2, 700.7 → 100, 200, 700 and the unit left to the largest remainder (Caen, .7)
    assert tir == {statskit.BAYEUX: 100, statskit.VIRE: 200, statskit.CAEN: 701}
    assert sum(tir.values()) == 1001
    assert sum(share.metrics["Searches_Platform"] for share in by_code.values()) == 7
    assert all(share.method == "prorata" for share in by_code.values())


def test_member_reports_go_to_their_library_and_unshareable_months_are_listed(stats_app):
    sid, known = _setup(stats_app, network_report={"Total_Item_Requests": 50},
                        member_reports={statskit.BAYEUX: {"Total_Item_Requests": 30}})
    runtime = stats_app.extensions["broker"]
    with runtime.db.session() as s:
        result = attribute(s, MONTH)
        doc = json.loads(render(figures(s, select_scope(s, network="calvados"), [Month(2026, 11)]),
                                select_scope(s, network="calvados"), "json"))
    share = result.shares[(known["library"][statskit.BAYEUX], sid)]
    assert share.metrics == {"Total_Item_Requests": 30} and share.method == "member"
    assert result.unattributed == {sid: {"Total_Item_Requests": 50}}  # no access through Sésame that month
    assert doc["months"][0]["counter_unattributed"] == {"cafeyn": {"Total_Item_Requests": 50}}


def test_exports_show_the_supplier_columns_beside_the_accesses(stats_app):
    with _vire_in_november(stats_app, {"Total_Item_Requests": 90, "Unique_Item_Requests": 45}) as (months, selection):
        doc = json.loads(render(months, selection, "json"))
        text = render(months, selection, "csv").decode("utf-8")[1:]
    detail = next(d for d in doc["months"][0]["details"] if d["supplier"] == "cafeyn")
    assert detail["accesses"] == 6 and detail["unique_patrons"] == 2
    assert detail["counter"] == {"Total_Item_Requests": 60, "Unique_Item_Requests": 30}
    assert detail["counter_method_label"] == "réparti au prorata des accès"
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))  # the French convention by default
    header = rows[0]
    assert header == [h for _, h in COLUMNS["usage"]]
    line = dict(zip(header, next(r for r in rows[1:] if r[4] == "cafeyn")))
    assert line["Fournisseur : Total_Item_Requests"] == "60"
    assert line["Fournisseur : Searches_Platform"] == ""
    assert line["Origine des chiffres du fournisseur"] == "réparti au prorata des accès"


def test_counter_report_of_a_library_carries_the_supplier_metrics(stats_app):
    from broker.services.stats.counter import platform_report

    with _vire_in_november(stats_app, {"Total_Item_Requests": 90, "Unique_Title_Requests": 9}) as (months, selection):
        report = platform_report(months, selection)
    item = next(i for i in report["Report_Items"] if i.get("Sesame:Source") == "supplier")
    assert item["Sesame:Supplier"] == "cafeyn" and item["Sesame:Attribution"] == "prorata"
    assert item["Performance"] == [{"Period": {"Begin_Date": "2026-11-01", "End_Date": "2026-11-30"},
                                    "Instance": [{"Metric_Type": "Total_Item_Requests", "Count": 60},
                                                 {"Metric_Type": "Unique_Title_Requests", "Count": 6}]}]
