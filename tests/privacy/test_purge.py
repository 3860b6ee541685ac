"""``broker purge``: removes what is past retention and nothing else; twice removes nothing more."""

from __future__ import annotations

import time
from datetime import date, timedelta

from sqlalchemy import func, select, update

from broker.clock import utcnow
from broker.db.models import Membership, MembershipEvent, StateEntry, UsageEvent
from broker.db.staff_models import PendingCard
from broker.db.stats_models import StatsMonth
from broker.domain.memberships import Transition
from broker.domain.patrons import PatronRecord
from broker.services import libraries, memberships
from broker.services.retention import purge
from broker.services.stats import Month, aggregate
from fixtures import stats as statskit


def _usage(app, at, key="a" * 32, outcome="granted"):
    known = statskit.ids(app)
    return {"at": at, "network_id": known["network"]["calvados"], "library_id": known["library"]["FR-140476101"],
            "supplier_id": known["supplier"]["cafeyn"], "patron_key": key, "outcome": outcome}


def _count(app, model, *where) -> int:
    runtime = app.extensions["broker"]
    with runtime.db.session() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def test_raw_events_go_only_once_their_month_is_aggregated(privacy_app):
    app = privacy_app
    runtime = app.extensions["broker"]
    now = utcnow()
    old = [_usage(app, now - timedelta(days=400, minutes=i)) for i in range(5)]
    recent = [_usage(app, now - timedelta(days=300, minutes=i)) for i in range(3)]
    statskit.insert_events(app, old + recent)
    cutoff = now - timedelta(days=365)

    waiting = purge(runtime)  # nothing aggregated yet: nothing may go
    assert waiting.usage_events == 0 and waiting.usage_events_waiting == 5
    assert _count(app, UsageEvent) == 8

    aggregate(runtime)
    old_month = str(Month.of(old[0]["at"]))
    figures_before = statskit.stored_figures(app, old_month)
    dry = purge(runtime, dry_run=True)
    assert dry.usage_events == 5 and _count(app, UsageEvent) == 8
    done = purge(runtime)
    assert done.usage_events == 5 and done.usage_events_waiting == 0
    assert old_month in done.months_sealed
    assert _count(app, UsageEvent, UsageEvent.at < cutoff) == 0
    assert _count(app, UsageEvent) == 3  # within retention: kept
    # the month's figures stay as they were, and are never recomputed from what is left
    with runtime.db.session() as s:
        assert s.get(StatsMonth, old_month).sealed_at is not None
    aggregate(runtime)
    assert statskit.stored_figures(app, old_month) == figures_before
    again = purge(runtime)
    assert again.removed == 0 and again.months_sealed == []


def test_registrations_and_memberships_past_retention_are_erased(privacy_app):
    app = privacy_app
    runtime = app.extensions["broker"]
    now = utcnow()
    made = {}
    with runtime.db.session() as s:
        lib = libraries.get_library(s, "FR-147626101")
        for name in ("old_refused", "new_refused", "old_pending", "new_pending", "old_expired", "new_expired",
                     "old_active"):
            record = PatronRecord(card=f"P-{name}", name=f"Person {name}", email=f"{name}@example.org",
                                  birth_date=date(1980, 5, 4))
            made[name] = memberships.register(runtime, s, lib, f"P-{name}", record, email=f"{name}@example.org")
        for name in ("old_refused", "new_refused"):
            memberships.change(runtime, s, made[name], Transition.REFUSE, actor="referent@vire.example.org",
                               reason=f"{name} unknown here")
        for name in ("old_expired", "new_expired", "old_active"):
            memberships.change(runtime, s, made[name], Transition.APPROVE, actor="referent@vire.example.org")
        for name in ("old_expired", "new_expired"):
            memberships.change(runtime, s, made[name], Transition.EXPIRE, actor="system", reason="card expired")
        s.flush()
        ages = {"old_refused": 100, "new_refused": 30, "old_pending": 100, "new_pending": 10, "old_expired": 400,
                "new_expired": 200, "old_active": 900}
        for name, days in ages.items():
            s.execute(update(Membership).where(Membership.id == made[name].id)
                      .values(updated_at=now - timedelta(days=days)))
        ids = {name: m.id for name, m in made.items()}
    with runtime.db.session() as s:
        s.add(StateEntry(key="test:expired", value="{}", expires_at=time.time() - 10))
        s.add(StateEntry(key="test:live", value="{}", expires_at=time.time() + 600))

    report = purge(runtime)
    assert (report.refused_registrations, report.abandoned_registrations, report.ended_memberships) == (1, 1, 1)
    assert report.state_entries >= 1
    with runtime.db.session() as s:
        def patron(name):
            return s.get(Membership, ids[name]).patron

        for name in ("old_refused", "old_pending", "old_expired"):
            p = patron(name)
            assert p.erased_at is not None and p.display_name is None and p.email is None
            assert p.birth_year is None and p.card_digest.startswith("erased:")
            assert all(e.reason == "" for e in s.get(Membership, ids[name]).history)
        assert s.get(Membership, ids["old_pending"]).state == "closed"
        assert s.get(PendingCard, ids["old_pending"]) is None
        for name in ("new_refused", "new_pending", "new_expired", "old_active"):
            assert patron(name).erased_at is None and patron(name).email == f"{name}@example.org"
        assert s.get(PendingCard, ids["new_pending"]) is not None
        assert s.get(StateEntry, "test:live") is not None and s.get(StateEntry, "test:expired") is None
        # the anonymous skeleton stays for the statistics
        assert s.scalar(select(func.count()).select_from(MembershipEvent)
                        .where(MembershipEvent.membership_id == ids["old_refused"])) == 2
    assert ("cli", "privacy.purge", "", "ok") in statskit.audit_rows(app)
    again = purge(runtime)
    assert again.removed == 0


def test_purge_cli(privacy_cli):
    dry = privacy_cli("purge", "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    assert dry.json()["dry_run"] is True
    first = privacy_cli("purge", "--json")
    assert first.exit_code == 0 and first.json()["dry_run"] is False
    second = privacy_cli("purge", "--json")
    assert second.json()["usage_events"] == 0 and second.json()["ended_memberships"] == 0
    text = privacy_cli("purge")
    assert "usage_events: 0" in text.stdout
