"""Usage events written in batches, off the request's path (write-behind).

Inserting and committing one usage event per assertion, token or ticket costs three
PostgreSQL round trips inside the request. Here ``add`` only appends to a list and a
daemon thread writes the list every ``interval`` seconds in one transaction, with
``synchronous_commit`` off. The price: a crash loses the events not yet written, and an
outage longer than ``max_pending`` events drops the oldest (counted, never silently).
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import weakref
from typing import Any

from prometheus_client import Counter
from sqlalchemy import insert, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, SQLAlchemyError, StatementError

from ..db.models import UsageEvent

log = logging.getLogger(__name__)
DROPPED = Counter("broker_usage_events_dropped_total", "Usage events dropped before reaching the database")
KEYS = frozenset({"at", "network_id", "library_id", "supplier_id", "patron_key", "protocol", "outcome"})
_TABLE = UsageEvent.__table__
_LOGS: weakref.WeakSet[UsageLog] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    """A forked child starts fresh before any thread of its own runs (_own covers forks Python did not see)."""
    for usage_log in list(_LOGS):
        usage_log._fresh()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _rows_at_fault(exc: SQLAlchemyError) -> bool:
    """True when the rows, not the database, are refused: retrying them would fail forever."""
    return isinstance(exc, (IntegrityError, DataError)) or (
        isinstance(exc, StatementError) and not isinstance(exc, DBAPIError))


class UsageLog:
    """Usage events written in batches, off the request's path."""

    def __init__(self, engine: Engine, *, interval: float = 1.0, max_batch: int = 1000,
                 max_pending: int = 100_000) -> None:
        if interval < 0 or max_batch < 1 or max_pending < 1:
            raise ValueError("interval must be >= 0, max_batch and max_pending >= 1")
        self.engine, self.interval, self.max_batch, self.max_pending = engine, interval, max_batch, max_pending
        self._closed = self._atexit = False
        self._fresh()
        _LOGS.add(self)

    def _fresh(self) -> None:
        """New lock, empty buffer, no thread: at creation and in a forked child."""
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._writing = threading.Lock()  # one flush at a time keeps the rows in order
        self._rows: list[dict[str, Any]] = []
        self._dropped = 0  # dropped but not yet logged
        self._wake, self._stop = threading.Event(), threading.Event()
        self._thread: threading.Thread | None = None

    def _own(self) -> None:
        if self._pid != os.getpid():
            self._fresh()  # a child never writes its parent's rows

    @property
    def pending(self) -> int:
        self._own()
        return len(self._rows)

    def add(self, row: dict[str, Any]) -> None:
        """row keys exactly: at, network_id, library_id, supplier_id, patron_key, protocol, outcome."""
        if row.keys() != KEYS:
            raise ValueError(f"a usage event has exactly the keys {sorted(KEYS)}")
        if self.interval == 0 or self._closed:
            with self.engine.begin() as conn:
                self._write(conn, [row])
            return
        self._own()
        with self._lock:
            self._rows.append(dict(row))
            size = len(self._rows)
            if size > self.max_pending:
                self._drop_oldest()
            if self._thread is None:
                self._start()
        if size >= self.max_batch:
            self._wake.set()

    def flush(self) -> int:
        """Write every pending row now (one transaction); returns rows written.

        Failure: rows kept, 0 returned, warning logged."""
        self._own()
        with self._writing:
            with self._lock:
                rows, self._rows = self._rows, []
            written = 0
            if rows:
                try:
                    with self.engine.begin() as conn:
                        self._write(conn, rows)
                    written = len(rows)
                except SQLAlchemyError as exc:
                    written = self._one_by_one(rows) if _rows_at_fault(exc) else self._keep(rows, exc)
            with self._lock:
                dropped, self._dropped = self._dropped, 0
            if dropped:
                log.warning("%d usage events dropped before reaching the database", dropped)
            return written

    def close(self) -> None:
        """Stop the background thread and flush what is left (best effort)."""
        self._own()
        self._closed = True
        self._stop.set()
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=max(5.0, self.interval))
        if self._atexit:
            atexit.unregister(self.close)
        try:
            self.flush()
        except Exception as exc:  # best effort, at shutdown
            log.warning("usage events not flushed at close (%s)", type(exc).__name__)

    def _write(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL synchronous_commit TO OFF"))
        for start in range(0, len(rows), self.max_batch):
            conn.execute(insert(_TABLE), rows[start:start + self.max_batch])

    def _keep(self, rows: list[dict[str, Any]], exc: BaseException) -> int:
        """Put the rows back in front of the buffer for the next wake-up (the message may hold row values)."""
        with self._lock:
            self._rows[:0] = rows
            if len(self._rows) > self.max_pending:
                self._drop_oldest()
        log.warning("%d usage events not written (%s), kept for the next attempt", len(rows), type(exc).__name__)
        return 0

    def _one_by_one(self, rows: list[dict[str, Any]]) -> int:
        """A refused row must not block the others: write each alone, drop the refused ones."""
        written = 0
        for i, row in enumerate(rows):
            try:
                with self.engine.begin() as conn:
                    self._write(conn, [row])
                written += 1
            except SQLAlchemyError as exc:
                if not _rows_at_fault(exc):
                    self._keep(rows[i:], exc)
                    break
                with self._lock:
                    self._dropped += 1
                DROPPED.inc()
        return written

    def _drop_oldest(self) -> None:  # under self._lock
        excess = len(self._rows) - self.max_pending
        del self._rows[:excess]
        self._dropped += excess
        DROPPED.inc(excess)

    def _start(self) -> None:  # under self._lock
        self._thread = threading.Thread(target=self._run, args=(self._wake, self._stop), name="usage-log", daemon=True)
        self._thread.start()
        if not self._atexit:  # a worker that exits gracefully writes what it holds
            atexit.register(self.close)
            self._atexit = True

    def _run(self, wake: threading.Event, stop: threading.Event) -> None:
        while not stop.is_set():
            wake.wait(self.interval)
            wake.clear()
            if stop.is_set():
                return  # close() does the last flush
            try:
                self.flush()
            except Exception as exc:  # the thread must live on; the message may hold row values
                log.warning("usage log flush failed (%s)", type(exc).__name__)
