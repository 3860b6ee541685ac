"""Monthly aggregation of usage and membership events: incremental, idempotent, safe to run concurrently.

Each month is computed in two steps:

1. **read**: set-based SQL over the month's raw events, in one consistent read
   snapshot (no write lock, so the web workers keep writing usage events);
   the results are a few rows per library × supplier;
2. **store**: under a per-month lock (``BEGIN IMMEDIATE`` on SQLite, an
   advisory lock on PostgreSQL), the month's rows are replaced — unless a
   computation that saw newer events is already stored, or the month is
   sealed because its raw events were purged.

Two runs at once therefore end with the figures of the newer snapshot, and a
run repeated on the same events writes the same figures.

Repeated granted accesses by one patron to one supplier within 30 seconds
count once (COUNTER's double-click rule), also across the start of a month.
Unique patrons are the distinct ``patron_key`` values among a month's counted
accesses, counted in SQL and never stored: each month's count stands alone (a
patron counts once per month), and no table ever holds a key, monthly or not.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, case, cast, delete, extract, func, insert, literal, null, or_, select, union_all
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from ...db.models import Library, Membership, MembershipEvent, Partner, UsageEvent
from ...db.stats_models import StatsCursor, StatsLibraryMonth, StatsMonth, StatsRefusalMonth, StatsSupplierMonth
from ...errors import InvalidInput
from .months import Month, span

if TYPE_CHECKING:
    from ...runtime import Runtime

#: two granted accesses by one patron to one supplier at most this far apart count once (COUNTER)
DOUBLE_CLICK = timedelta(seconds=30)
#: a month computed this long after its end is final: its raw events may be purged
FINAL_GRACE = timedelta(hours=1)
#: PostgreSQL advisory lock keys: this base + the month's index
_LOCK_BASE = 0x5E5A_0000
#: SQLite: how long a run waits for another one to finish storing a month (ms)
_SQLITE_WAIT_MS = 600_000
_SQLITE_DEFAULT_WAIT_MS = 10_000

GRANTED = "granted"
REGISTRATION_TRANSITIONS = ("register", "approve", "refuse")

ue = UsageEvent.__table__
me = MembershipEvent.__table__
ms = Membership.__table__


@dataclass(frozen=True)
class MonthResult:
    """What one month's aggregation did."""

    month: str
    #: aggregated | kept (a newer computation was stored meanwhile) | sealed (raw events purged)
    status: str
    usage_events: int = 0
    accesses: int = 0
    refusals: int = 0
    final: bool = False
    seconds: float = 0.0


@dataclass
class _Computation:
    month: Month
    usage_mark: int
    membership_mark: int
    usage_events: int
    suppliers: list[dict] = field(default_factory=list)
    refusals: list[dict] = field(default_factory=list)
    libraries: list[dict] = field(default_factory=list)


def _epoch_ms(column, dialect: str):
    """Milliseconds since 1970 of a timestamp column, as an integer, in this dialect's SQL."""
    if dialect == "sqlite":
        return cast(func.round((func.julianday(column) - 2440587.5) * 86400000.0), BigInteger)
    return cast(func.round(extract("epoch", column) * 1000), BigInteger)


# -- read ------------------------------------------------------------------------------
def _granted_rows(conn: Connection, month: Month) -> tuple[list[dict], dict[int, int]]:
    """Accesses and unique patrons per library × supplier, and unique patrons per library, in one pass.

    The window runs once; its result (one row per granted event, with a flag
    "counted": not a double click) is grouped twice, per library × supplier
    and per library. A patron counts as a user of the month only through a
    counted access, so a double click just after midnight adds no one.
    """
    dialect = conn.dialect.name
    at_ms = _epoch_ms(ue.c.at, dialect)
    previous = func.lag(at_ms).over(partition_by=(ue.c.patron_key, ue.c.supplier_id), order_by=(ue.c.at, ue.c.id))
    # the 30 s before the month are read too, so that a double click across midnight counts once
    window = (
        select(ue.c.network_id, ue.c.library_id, ue.c.supplier_id, ue.c.patron_key, ue.c.at,
               at_ms.label("at_ms"), previous.label("prev_ms"))
        .where(ue.c.outcome == GRANTED, ue.c.at >= month.start - DOUBLE_CLICK, ue.c.at < month.end)
        .subquery()
    )
    counted = case(
        (or_(window.c.patron_key.is_(None), window.c.prev_ms.is_(None),
             window.c.at_ms - window.c.prev_ms > int(DOUBLE_CLICK.total_seconds() * 1000)), 1),
        else_=0,
    )
    flagged = (select(window.c.network_id, window.c.library_id, window.c.supplier_id,
                      case((counted == 1, window.c.patron_key), else_=None).label("user_key"),
                      counted.label("counted"))
               .where(window.c.at >= month.start).cte("flagged"))
    per_supplier = (select(literal("s").label("level"), flagged.c.network_id, flagged.c.library_id,
                           flagged.c.supplier_id, func.sum(flagged.c.counted),
                           func.count(func.distinct(flagged.c.user_key)))
                    .group_by(flagged.c.network_id, flagged.c.library_id, flagged.c.supplier_id))
    per_library = (select(literal("l").label("level"), flagged.c.network_id, flagged.c.library_id,
                          null().label("supplier_id"), func.sum(flagged.c.counted),
                          func.count(func.distinct(flagged.c.user_key)))
                   .where(flagged.c.library_id.is_not(None))
                   .group_by(flagged.c.network_id, flagged.c.library_id))
    suppliers: list[dict] = []
    library_users: dict[int, int] = defaultdict(int)
    for level, network, library, supplier, accesses, users in conn.execute(union_all(per_supplier, per_library)):
        if level == "s":
            suppliers.append({"network_id": network, "library_id": library, "supplier_id": supplier,
                              "accesses": int(accesses or 0), "unique_patrons": int(users)})
        else:  # a library that changed network within the month has two rows: a patron is in one of them
            library_users[library] += int(users)
    return suppliers, library_users


def _in_month(column, month: Month):
    return (column >= month.start) & (column < month.end)


def _refusal_rows(conn: Connection, month: Month) -> list[dict]:
    query = (
        select(ue.c.network_id, ue.c.library_id, ue.c.supplier_id, ue.c.outcome, func.count())
        .where(ue.c.outcome != GRANTED, _in_month(ue.c.at, month))
        .group_by(ue.c.network_id, ue.c.library_id, ue.c.supplier_id, ue.c.outcome)
    )
    return [{"network_id": n, "library_id": lib, "supplier_id": s, "reason": r, "refusals": int(c)}
            for n, lib, s, r, c in conn.execute(query)]


def _library_rows(conn: Connection, month: Month, suppliers: list[dict], library_users: dict[int, int],
                  refusals: list[dict]) -> list[dict]:
    """Per library: usage over all suppliers, registrations in the month, states at its end."""
    rows: dict[int, dict] = defaultdict(lambda: dict.fromkeys(
        ("accesses", "unique_patrons", "refusals", "registrations", "validated", "refused", "pending_end",
         "active_end"), 0))
    for r in suppliers:
        if r["library_id"] is not None:
            rows[r["library_id"]]["accesses"] += r["accesses"]
    for r in refusals:
        if r["library_id"] is not None:
            rows[r["library_id"]]["refusals"] += r["refusals"]
    for lib, n in library_users.items():
        rows[lib]["unique_patrons"] = n
    transitions = (
        select(ms.c.library_id, me.c.transition, func.count())
        .select_from(me.join(ms, ms.c.id == me.c.membership_id))
        .where(me.c.transition.in_(REGISTRATION_TRANSITIONS), _in_month(me.c.at, month))
        .group_by(ms.c.library_id, me.c.transition)
    )
    column = {"register": "registrations", "approve": "validated", "refuse": "refused"}
    for lib, transition, n in conn.execute(transitions):
        rows[lib][column[transition]] = int(n)
    # the state of each membership at the month's end is the target of its last change before it
    last = (select(me.c.membership_id, func.max(me.c.id).label("last_id"))
            .where(me.c.at < month.end).group_by(me.c.membership_id).subquery())
    states = (
        select(ms.c.library_id, me.c.to_state, func.count())
        .select_from(last.join(me, me.c.id == last.c.last_id).join(ms, ms.c.id == me.c.membership_id))
        .where(me.c.to_state.in_(("pending", "active")))
        .group_by(ms.c.library_id, me.c.to_state)
    )
    for lib, state, n in conn.execute(states):
        rows[lib][f"{state}_end"] = int(n)
    # the network a library's events were counted under; its current network when it has no events
    networks = {lib: n for lib, n in conn.execute(
        select(Library.id, Partner.network_id).join(Partner, Partner.id == Library.partner_id))}
    networks.update({r["library_id"]: r["network_id"] for r in suppliers if r["network_id"] is not None})
    return [{"library_id": lib, "network_id": networks.get(lib), **figures}
            for lib, figures in sorted(rows.items()) if any(figures.values())]


def _compute(engine: Engine, month: Month) -> _Computation:
    """The month's figures from one consistent snapshot of the raw events."""
    if engine.dialect.name == "sqlite":
        conn_cm = engine.connect()
    else:
        conn_cm = engine.connect().execution_options(isolation_level="REPEATABLE READ")
    with conn_cm as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN")  # a read transaction: one snapshot for every query below
        try:
            usage_mark = conn.scalar(select(func.coalesce(func.max(ue.c.id), 0)))
            membership_mark = conn.scalar(select(func.coalesce(func.max(me.c.id), 0)))
            count = conn.scalar(select(func.count()).select_from(ue).where(_in_month(ue.c.at, month)))
            suppliers, library_users = _granted_rows(conn, month)
            refusals = _refusal_rows(conn, month)
            libraries = _library_rows(conn, month, suppliers, library_users, refusals)
        finally:
            conn.rollback()
    return _Computation(month, int(usage_mark), int(membership_mark), int(count), suppliers, refusals, libraries)


# -- store -----------------------------------------------------------------------------
@contextmanager
def _locked(engine: Engine, month: Month) -> Iterator[Connection]:
    """A connection in a write transaction holding this month's lock; committed when the block ends."""
    conn = engine.connect()
    sqlite_db = engine.dialect.name == "sqlite"
    try:
        if sqlite_db:
            # a concurrent run holds the write lock while it stores a month: wait for it, do not fail
            conn.exec_driver_sql(f"PRAGMA busy_timeout = {_SQLITE_WAIT_MS}")
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.execute(select(func.pg_advisory_xact_lock(_LOCK_BASE + month.year * 12 + month.month)))
        yield conn
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        if sqlite_db:
            conn.exec_driver_sql(f"PRAGMA busy_timeout = {_SQLITE_DEFAULT_WAIT_MS}")
        conn.close()


def _store(engine: Engine, comp: _Computation, now: datetime) -> str:
    key = str(comp.month)
    with _locked(engine, comp.month) as conn:
        stored = conn.execute(select(StatsMonth.__table__).where(StatsMonth.month == key)).mappings().first()
        if stored is not None and stored["sealed_at"] is not None:
            return "sealed"
        if stored is not None and (stored["usage_mark"] > comp.usage_mark or
                                   stored["membership_mark"] > comp.membership_mark):
            return "kept"
        for table in (StatsSupplierMonth, StatsRefusalMonth, StatsLibraryMonth):
            conn.execute(delete(table).where(table.month == key))
        if comp.suppliers:
            conn.execute(insert(StatsSupplierMonth), [{"month": key, **r} for r in comp.suppliers])
        if comp.refusals:
            conn.execute(insert(StatsRefusalMonth), [{"month": key, **r} for r in comp.refusals])
        if comp.libraries:
            conn.execute(insert(StatsLibraryMonth), [{"month": key, **r} for r in comp.libraries])
        values = {"computed_at": now, "usage_mark": comp.usage_mark, "membership_mark": comp.membership_mark,
                  "usage_events": comp.usage_events, "final": comp.month.is_over(now, FINAL_GRACE)}
        if stored is None:
            conn.execute(insert(StatsMonth), [{"month": key, **values}])
        else:
            conn.execute(StatsMonth.__table__.update().where(StatsMonth.month == key).values(**values))
    return "aggregated"


def aggregate_month(runtime: Runtime, month: Month, *, now: datetime | None = None) -> MonthResult:
    """(Re)compute one month; a sealed month is left as it is."""
    now = now or runtime.clock.utcnow()
    if month > Month.current(now):
        raise InvalidInput(f"month {month} is in the future", code="future_month")
    engine = runtime.db.engine
    started = time.perf_counter()
    with engine.connect() as conn:
        sealed = conn.scalar(select(StatsMonth.sealed_at).where(StatsMonth.month == str(month)))
    if sealed is not None:
        return MonthResult(str(month), "sealed")
    comp = _compute(engine, month)
    status = _store(engine, comp, now)
    return MonthResult(
        str(month), status, usage_events=comp.usage_events,
        accesses=sum(r["accesses"] for r in comp.suppliers), refusals=sum(r["refusals"] for r in comp.refusals),
        final=month.is_over(now, FINAL_GRACE), seconds=round(time.perf_counter() - started, 3),
    )


# -- what to (re)compute ---------------------------------------------------------------
def _cursor(conn: Connection, name: str) -> int:
    return int(conn.scalar(select(StatsCursor.position).where(StatsCursor.name == name)) or 0)


def _span_since(conn: Connection, table, cursor: int) -> tuple[datetime | None, datetime | None]:
    return tuple(conn.execute(select(func.min(table.c.at), func.max(table.c.at)).where(table.c.id > cursor)).one())


def months_to_refresh(runtime: Runtime, *, now: datetime | None = None) -> tuple[list[Month], dict[str, int]]:
    """Months whose figures may have changed since the last run, and the cursor positions to save after."""
    now = now or runtime.clock.utcnow()
    current = Month.current(now)
    todo: set[Month] = {current}
    with runtime.db.engine.connect() as conn:
        marks = {"usage_events": int(conn.scalar(select(func.coalesce(func.max(ue.c.id), 0)))),
                 "membership_events": int(conn.scalar(select(func.coalesce(func.max(me.c.id), 0))))}
        first, last = _span_since(conn, ue, _cursor(conn, "usage_events"))
        if first is not None:
            todo.update(span(Month.of(first), min(Month.of(last), current)))
        first, _ = _span_since(conn, me, _cursor(conn, "membership_events"))
        if first is not None:
            # a membership change moves the members counted at the end of every later month
            todo.update(span(Month.of(first), current))
        latest = conn.scalar(select(func.max(StatsMonth.month)))
        if latest is not None:
            todo.update(span(min(Month.parse(latest, allow_future=True), current), current))
        todo.update(Month.parse(m, allow_future=True) for m in conn.scalars(
            select(StatsMonth.month).where(StatsMonth.final.is_(False), StatsMonth.sealed_at.is_(None))))
        sealed = {Month.parse(m, allow_future=True)
                  for m in conn.scalars(select(StatsMonth.month).where(StatsMonth.sealed_at.is_not(None)))}
        known = {Month.parse(m, allow_future=True) for m in conn.scalars(select(StatsMonth.month))}
    # quiet months in between still have members: give every month since the first one its row
    todo.update(m for m in span(min(known | todo), current) if m not in known)
    return sorted(m for m in todo - sealed if m <= current), marks


def _save_cursors(runtime: Runtime, marks: dict[str, int]) -> None:
    """Move the cursors forward (never back: a concurrent run may have gone further)."""
    engine = runtime.db.engine
    dialect_insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    table = StatsCursor.__table__
    with engine.begin() as conn:
        for name, position in marks.items():
            conn.execute(dialect_insert(table).values(name=name, position=0).on_conflict_do_nothing())
            conn.execute(table.update().where(table.c.name == name, table.c.position < position)
                         .values(position=position))


def aggregate(runtime: Runtime, month: Month | None = None, *, now: datetime | None = None,
              progress=None) -> list[MonthResult]:
    """``broker stats aggregate``: one month when given, else every month that may have changed.

    ``progress(done, total)`` is called after each month.
    """
    if month is not None:
        return [aggregate_month(runtime, month, now=now)]
    months, marks = months_to_refresh(runtime, now=now)
    results = []
    for m in months:
        results.append(aggregate_month(runtime, m, now=now))
        if progress is not None:
            progress(len(results), len(months))
    _save_cursors(runtime, marks)
    return results
