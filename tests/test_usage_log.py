"""UsageLog writes usage events in batches, on a real SQLite file and on PostgreSQL."""

from __future__ import annotations

import logging
import os
import threading
import time
import warnings
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import create_engine, event, select, text
from sqlalchemy.exc import SQLAlchemyError

from broker.db.models import UsageEvent
from broker.services.usage_log import UsageLog

pytestmark = pytest.mark.postgres
TABLE = UsageEvent.__table__
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def engine(database_url):
    engine = create_engine(database_url)
    TABLE.create(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def make_log(engine):
    logs: list[UsageLog] = []

    def factory(**options) -> UsageLog:
        logs.append(UsageLog(engine, **options))
        return logs[-1]

    yield factory
    for usage_log in logs:
        usage_log.close()


def row(i: int, **changes) -> dict:
    values = {"at": T0 + timedelta(seconds=i), "network_id": 1, "library_id": 2, "supplier_id": 3,
              "patron_key": f"k{i}", "protocol": "saml", "outcome": "granted"}
    values.update(changes)
    return values


def stored(engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.scalars(select(TABLE.c.patron_key).order_by(TABLE.c.id)))


def rename(engine, old: str, new: str) -> None:
    with engine.begin() as conn:
        conn.execute(text(f"ALTER TABLE {old} RENAME TO {new}"))


def eventually(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def dropped_total() -> float:
    return REGISTRY.get_sample_value("broker_usage_events_dropped_total") or 0.0


def test_interval_zero_writes_at_once_and_lets_errors_through(engine, make_log):
    usage_log = make_log(interval=0)
    usage_log.add(row(0))
    assert stored(engine) == ["k0"] and usage_log.pending == 0
    with engine.connect() as conn:
        at = conn.scalar(select(TABLE.c.at))
    assert at.replace(tzinfo=at.tzinfo or UTC) == T0
    rename(engine, "usage_events", "usage_events_away")
    with pytest.raises(SQLAlchemyError):
        usage_log.add(row(1))
    with pytest.raises(ValueError):
        usage_log.add({"at": T0, "outcome": "granted"})


def test_add_only_buffers_and_flush_writes_in_order(engine, make_log):
    usage_log = make_log(interval=30)
    for i in range(25):
        usage_log.add(row(i))
    assert stored(engine) == [] and usage_log.pending == 25
    statements: list[str] = []
    listener = lambda conn, cursor, statement, *rest: statements.append(statement.split(" (")[0])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        assert usage_log.flush() == 25
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    expected = ["INSERT INTO usage_events"]
    if engine.dialect.name == "postgresql":
        expected.insert(0, "SET LOCAL synchronous_commit TO OFF")
    assert statements == expected  # one statement for all the rows, in one transaction
    assert stored(engine) == [f"k{i}" for i in range(25)] and usage_log.pending == 0
    assert usage_log.flush() == 0


def test_background_thread_writes(engine, make_log):
    usage_log = make_log(interval=0.05)
    for i in range(3):
        usage_log.add(row(i))
    assert eventually(lambda: len(stored(engine)) == 3)
    assert usage_log.pending == 0


def test_max_batch_wakes_the_thread_early(engine, make_log):
    usage_log = make_log(interval=30, max_batch=5)
    for i in range(4):
        usage_log.add(row(i))
    time.sleep(0.2)
    assert stored(engine) == []  # below max_batch: waits for the interval
    usage_log.add(row(4))
    assert eventually(lambda: len(stored(engine)) == 5)


def test_database_failure_keeps_rows_for_the_next_attempt(engine, make_log, caplog):
    caplog.set_level(logging.WARNING, logger="broker.services.usage_log")
    usage_log = make_log(interval=30)
    for i in range(3):
        usage_log.add(row(i))
    rename(engine, "usage_events", "usage_events_away")
    assert usage_log.flush() == 0
    assert usage_log.pending == 3
    assert "3 usage events not written" in caplog.text and "k0" not in caplog.text
    usage_log.add(row(3))
    rename(engine, "usage_events_away", "usage_events")
    assert usage_log.flush() == 4
    assert stored(engine) == ["k0", "k1", "k2", "k3"] and usage_log.pending == 0


def test_a_refused_row_does_not_block_the_others(engine, make_log):
    usage_log = make_log(interval=30)
    before = dropped_total()
    usage_log.add(row(0))
    usage_log.add(row(1, outcome=None))  # NOT NULL: refused on every attempt
    usage_log.add(row(2))
    assert usage_log.flush() == 2
    assert stored(engine) == ["k0", "k2"] and usage_log.pending == 0
    assert dropped_total() - before == 1


def test_max_pending_drops_the_oldest_and_counts_them(engine, make_log, caplog):
    caplog.set_level(logging.WARNING, logger="broker.services.usage_log")
    usage_log = make_log(interval=30, max_pending=5)
    before = dropped_total()
    for i in range(8):
        usage_log.add(row(i))
    assert usage_log.pending == 5
    assert dropped_total() - before == 3
    # a failed flush puts its rows back in front; what was added meanwhile still counts
    rename(engine, "usage_events", "usage_events_away")
    assert usage_log.flush() == 0
    warnings_logged = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert warnings_logged == ["3 usage events dropped before reaching the database"]
    usage_log.add(row(8))
    assert usage_log.pending == 5 and dropped_total() - before == 4
    rename(engine, "usage_events_away", "usage_events")
    assert usage_log.flush() == 5
    assert stored(engine) == ["k4", "k5", "k6", "k7", "k8"]
    assert "k3" not in caplog.text


def test_a_forked_child_never_writes_its_parents_rows(engine, make_log):
    usage_log = make_log(interval=30)
    for i in range(3):
        usage_log.add(row(i))  # the thread is running now
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads (Python >= 3.12)
        pid = os.fork()
    if pid == 0:  # the child: report through the exit code only
        code = 1
        try:
            engine.dispose(close=False)  # the parent's connections stay the parent's
            code = 2 if usage_log.pending != 0 else 3 if usage_log.flush() != 0 else 0
            if code == 0:
                usage_log.add(row(100))
                code = 4 if (usage_log.pending, usage_log.flush()) != (1, 1) else 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert usage_log.pending == 3
    assert usage_log.flush() == 3
    assert sorted(stored(engine)) == ["k0", "k1", "k100", "k2"]


def test_close_flushes_and_later_adds_write_at_once(engine, make_log):
    usage_log = make_log(interval=30)
    for i in range(4):
        usage_log.add(row(i))
    usage_log.close()
    assert stored(engine) == ["k0", "k1", "k2", "k3"] and usage_log.pending == 0
    usage_log.add(row(4))
    assert stored(engine)[-1] == "k4"


def test_concurrent_adds_are_written_exactly_once(engine, make_log):
    usage_log = make_log(interval=0.01, max_batch=200)
    start = threading.Barrier(8)

    def worker(n: int) -> None:
        start.wait()
        for i in range(500):
            usage_log.add(row(n * 1000 + i))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    written = 0
    while any(t.is_alive() for t in threads):
        written += usage_log.flush()
    for t in threads:
        t.join()
    usage_log.close()
    keys = stored(engine)
    assert len(keys) == 4000 and len(set(keys)) == 4000
    assert written <= 4000
