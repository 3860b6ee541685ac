"""Harvest and attribution on SQLite and PostgreSQL alike (the harvest locks its supplier's account row)."""

from __future__ import annotations

from datetime import UTC, datetime

from cop_reports import pr_51
from test_attribution import _setup

from broker.services.counter import accounts
from broker.services.counter.attribution import attribute
from broker.services.counter.harvest import harvest
from broker.services.stats import Month
from broker.services.suppliers import get_supplier
from fixtures import stats as statskit

NOW = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)


def test_harvest_then_share(db_app, sushi, monkeypatch):
    import broker.clock

    monkeypatch.setattr(broker.clock, "utcnow", lambda: NOW)
    runtime = db_app.extensions["broker"]
    with runtime.db.session() as s:
        accounts.set_account(runtime, s, get_supplier(s, "pnb"), url=sushi.url(), customer_id="NET-1",
                             requestor_id=sushi.requestor_id, api_key=sushi.api_key)
    sushi.answers[("NET-1", "2026-11")] = ("json", pr_51("2026-11", "NET-1", {"Book": {"Total_Item_Requests": 10}}))
    first = harvest(runtime, supplier="pnb", month=Month(2026, 11))
    again = harvest(runtime, supplier="pnb", month=Month(2026, 11))
    assert first[0].stored == ["2026-11"] and again[0].stored == [] and again[0].status == "ok"
    _setup(db_app, network_report=None, patrons={statskit.BAYEUX: 1, statskit.VIRE: 3})
    known = statskit.ids(db_app)
    from broker.db.stats_models import StatsSupplierMonth

    with runtime.db.session() as s:  # the accesses were to cafeyn in _setup: give pnb the same
        for row in s.query(StatsSupplierMonth).all():
            row.supplier_id = known["supplier"]["pnb"]
    with runtime.db.session() as s:
        shares = attribute(s, "2026-11").shares
    pnb = known["supplier"]["pnb"]
    assert {lid: share.metrics["Total_Item_Requests"] for (lid, sid), share in shares.items() if sid == pnb} == {
        known["library"][statskit.BAYEUX]: 3, known["library"][statskit.VIRE]: 7}  # 2.5 / 7.5: tie → code order
