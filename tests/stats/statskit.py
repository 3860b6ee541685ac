"""Shared by the statistics and privacy tests: the demo network, usage batches and an independent count."""

from __future__ import annotations

import shutil
import time
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
SECRET = "stats-tests-secret-key-with-enough-entropy-0077"
REFERENT = "referent@bayeux.example.org"      # FR-140476101 (network calvados)
ADMIN = "admin@calvados.example.org"          # network calvados
BAYEUX, PORT_EN_BESSIN, VIRE, CAEN = "FR-140476101", "FR-143346101", "FR-147626101", "FR-141186001"


def build_demo(path: Path) -> None:
    """A migrated SQLite database with the demo network (SIP2 libraries point at a dead port)."""
    from broker.app import create_app
    from broker.demo import load_demo

    app = create_app({"secret_key": SECRET, "stats_flush_ms": 0, "database_url": f"sqlite:///{path}", "instance_path": str(path.parent),
                      "base_url": "http://localhost", "log_level": "WARNING", "plugins_load_entrypoints": False})
    runtime = app.extensions["broker"]
    try:
        with runtime.db.session() as s:
            load_demo(runtime, s, sip2_port=1)
    finally:
        runtime.close()


def app_from(make_app, template: Path, tmp_path: Path, **settings):
    target = tmp_path / f"stats-{time.monotonic_ns()}.db"
    shutil.copy(template, target)
    return make_app(secret_key=SECRET, database_url=f"sqlite:///{target}", log_level="WARNING",
                    plugins_load_entrypoints=False, **settings)


def cli_on(broker_cli, template: Path, tmp_path: Path, monkeypatch):
    """``broker`` (the broker_cli fixture) run against a copy of ``template``."""
    shutil.copy(template, tmp_path / "cli.db")
    monkeypatch.setenv("BROKER_SECRET_KEY", SECRET)
    monkeypatch.setenv("BROKER_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("BROKER_PLUGINS_LOAD_ENTRYPOINTS", "false")
    return broker_cli


def load_demo_into(app) -> None:
    from broker.demo import load_demo

    runtime = app.extensions["broker"]
    with runtime.db.session() as s:
        load_demo(runtime, s, sip2_port=1)


def record_flows(app, rounds: int = 2) -> int:
    """Access attempts of every demo patron to every supplier, through the access decision; returns the count."""
    from sqlalchemy import select

    from broker.db.models import Patron
    from broker.services import access, suppliers

    runtime = app.extensions["broker"]
    count = 0
    with runtime.db.session() as s:
        uids = list(s.scalars(select(Patron.uid).order_by(Patron.id)))
        offered = suppliers.list_suppliers(s)
    for _ in range(rounds):
        for uid in uids:
            for supplier in offered:
                with runtime.db.session() as s:
                    sup = suppliers.get_supplier(s, supplier.slug)
                    outcome = access.check(runtime, s, uid, sup)
                    access.record_usage(runtime, outcome, "saml")
                    count += 1
    return count


def insert_events(app, rows: list[dict]) -> None:
    """Synthetic usage events with controlled timestamps (dicts with UsageEvent columns)."""
    from sqlalchemy import insert

    from broker.db.models import UsageEvent

    runtime = app.extensions["broker"]
    with runtime.db.engine.begin() as conn:
        conn.execute(insert(UsageEvent), [{"protocol": "saml", **r} for r in rows])


def ids(app) -> dict:
    """Library and supplier ids by code/slug, network ids by slug."""
    from sqlalchemy import select

    from broker.db.models import Library, Network, Partner, Supplier

    runtime = app.extensions["broker"]
    with runtime.db.session() as s:
        libs = {lib.code: (lib.id, net) for lib, net in s.execute(
            select(Library, Partner.network_id).join(Partner, Partner.id == Library.partner_id))}
        return {"library": {code: v[0] for code, v in libs.items()},
                "library_network": {code: v[1] for code, v in libs.items()},
                "supplier": {s_.slug: s_.id for s_ in s.scalars(select(Supplier))},
                "network": {n.slug: n.id for n in s.scalars(select(Network))}}


def all_events(app) -> list[tuple]:
    from sqlalchemy import select

    from broker.db.models import UsageEvent

    runtime = app.extensions["broker"]
    with runtime.db.session() as s:
        return [tuple(r) for r in s.execute(select(
            UsageEvent.id, UsageEvent.at, UsageEvent.network_id, UsageEvent.library_id, UsageEvent.supplier_id,
            UsageEvent.patron_key, UsageEvent.outcome).order_by(UsageEvent.id))]


def month_of(at: datetime) -> str:
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    return at.astimezone(PARIS).strftime("%Y-%m")


def expected_figures(events: list[tuple]) -> dict:
    """The monthly figures computed in plain Python, independently of the SQL.

    Returns {month: {"usage": {(network, library, supplier): [accesses, {keys}]},
                     "refusals": {(network, library, supplier, reason): n},
                     "library_uniques": {library: {keys}}}}.
    """
    out: dict = defaultdict(lambda: {"usage": defaultdict(lambda: [0, set()]), "refusals": defaultdict(int),
                                     "library_uniques": defaultdict(set)})
    last_granted: dict[tuple, datetime] = {}
    for event_id, at, network, library, supplier, key, outcome in sorted(events, key=lambda e: (e[1], e[0])):
        month = out[month_of(at)]
        if outcome != "granted":
            month["refusals"][(network, library, supplier, outcome)] += 1
            continue
        slot = month["usage"][(network, library, supplier)]
        previous = last_granted.get((key, supplier)) if key is not None else None
        counted = previous is None or (at - previous) > timedelta(seconds=30)
        if key is not None:
            last_granted[(key, supplier)] = at
        if not counted:
            continue  # a double click: neither an access nor a user
        slot[0] += 1
        if key is not None:
            slot[1].add(key)
            if library is not None:
                month["library_uniques"][library].add(key)
    return out


def stored_figures(app, month: str) -> dict:
    """What the statistics tables hold for a month, in the shape of expected_figures."""
    from sqlalchemy import select

    from broker.db.stats_models import StatsLibraryMonth, StatsRefusalMonth, StatsSupplierMonth

    runtime = app.extensions["broker"]
    with runtime.db.session() as s:
        usage = {(r.network_id, r.library_id, r.supplier_id): (r.accesses, r.unique_patrons)
                 for r in s.scalars(select(StatsSupplierMonth).where(StatsSupplierMonth.month == month))}
        refusals = {(r.network_id, r.library_id, r.supplier_id, r.reason): r.refusals
                    for r in s.scalars(select(StatsRefusalMonth).where(StatsRefusalMonth.month == month))}
        libraries = {r.library_id: {k: getattr(r, k) for k in (
            "accesses", "unique_patrons", "refusals", "registrations", "validated", "refused", "pending_end",
            "active_end")} for r in s.scalars(select(StatsLibraryMonth).where(StatsLibraryMonth.month == month))}
    return {"usage": usage, "refusals": refusals, "libraries": libraries}


def as_staff(app, client, email: str):
    """Open a staff session directly (the staff login itself is the staff pages' business)."""
    from broker.services import staff

    runtime = app.extensions["broker"]
    with runtime.db.session() as s:
        user = staff.get_user(s, email)
        data = {"id": user.id, "email": user.email, "at": runtime.clock.wall()}
    with client.session_transaction() as sess:
        sess["staff"] = data
    return client


def token_for(app, email: str) -> str:
    from broker.services import staff

    runtime = app.extensions["broker"]
    with runtime.db.session() as s:
        return staff.create_api_token(runtime, s, staff.get_user(s, email), "stats tests", actor=email)


def audit_rows(app, **where) -> list[tuple]:
    from sqlalchemy import select

    from broker.db.models import AuditEvent

    runtime = app.extensions["broker"]
    with runtime.db.session() as s:
        query = select(AuditEvent).order_by(AuditEvent.id)
        for key, value in where.items():
            query = query.where(getattr(AuditEvent, key) == value)
        return [(e.actor, e.action, e.target, e.outcome) for e in s.scalars(query)]


def paris(year: int, month: int, day: int, hour: int = 12, minute: int = 0, second: int = 0) -> datetime:
    """A French local time as the UTC instant the database stores."""
    return datetime(year, month, day, hour, minute, second, tzinfo=PARIS).astimezone(timezone.utc)
