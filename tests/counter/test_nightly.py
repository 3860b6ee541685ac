"""The nightly harvest of ``broker serve``: once a day after 04:00 Paris time, by a single worker."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from cop_reports import pr_51
from sqlalchemy import select
from test_harvest import COUNTS

from broker.db.counter_models import CounterReport
from broker.services.counter import accounts, nightly
from broker.services.suppliers import get_supplier


def _configure(app, sushi):
    runtime = app.extensions["broker"]
    with runtime.db.session() as s:
        accounts.set_account(runtime, s, get_supplier(s, "cafeyn"), url=sushi.url(), customer_id="NET-1",
                             requestor_id=sushi.requestor_id, api_key=sushi.api_key)
    return runtime


def test_one_run_a_day_after_four_paris_time(stats_app, sushi, monkeypatch):
    import broker.clock
    import broker.services.stats.months

    now = datetime(2026, 12, 6, 3, 30, tzinfo=UTC)  # 04:30 in Paris
    monkeypatch.setattr(broker.clock, "utcnow", lambda: now)
    monkeypatch.setattr(broker.services.stats.months, "utcnow", lambda: now)
    assert nightly.run_once(stats_app.extensions["broker"], now) is None  # no SUSHI account: nothing to do
    runtime = _configure(stats_app, sushi)
    sushi.answers[("NET-1", "2026-11")] = ("json", pr_51("2026-11", "NET-1", COUNTS))
    early = datetime(2026, 12, 6, 2, 30, tzinfo=UTC)  # 03:30 in Paris
    assert nightly.run_once(runtime, early) is None
    results = nightly.run_once(runtime, now)
    assert [r.supplier for r in results] == ["cafeyn"] and "2026-11" in results[0].stored
    # the other workers (and this one, later the same day) find the day claimed
    claims = []
    threads = [threading.Thread(target=lambda: claims.append(nightly.claim(runtime, now))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert claims == [False] * 4
    assert nightly.claim(runtime, datetime(2026, 12, 7, 3, 30, tzinfo=UTC)) is True
    with runtime.db.session() as s:
        assert s.scalar(select(CounterReport.month).where(CounterReport.month == "2026-11")) == "2026-11"
