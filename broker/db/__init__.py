"""Database access: the engine, sessions and the schema's migrations."""

from __future__ import annotations

import sqlite3
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from ..clock import SYSTEM, Clock
from .models import Base

__all__ = ["Database", "Base", "clock_of"]

#: each engine's clock, for the rows' default timestamps (see ``base._now``)
_CLOCKS: weakref.WeakKeyDictionary[Engine, Clock] = weakref.WeakKeyDictionary()


def clock_of(bind: Engine | Connection | None) -> Clock:
    """The clock of the runtime that owns ``bind`` (the system clock for an engine of no Database)."""
    return _CLOCKS.get(bind.engine, SYSTEM) if bind is not None else SYSTEM


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # busy_timeout makes writers wait, not fail; WAL lets the workers read while one writes
    cursor.execute("PRAGMA busy_timeout=10000")
    _use_wal(cursor)
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _use_wal(cursor) -> None:
    """Switch the file to WAL once (the mode is kept in the file); processes starting together may race for it.

    Changing the journal mode needs the database to itself, and SQLite answers "database is locked"
    at once, without its busy timeout, when another connection holds it: try again for a while.
    """
    if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() in ("wal", "memory"):
        return
    deadline = time.monotonic() + 10
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class Database:
    """One engine and session factory per app."""

    def __init__(self, url: str, *, echo: bool = False, clock: Clock | None = None) -> None:
        self.url = url
        kwargs: dict = {"echo": echo, "future": True}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 10}
        else:
            # pre-ping costs a round trip per checkout, but after a PostgreSQL restart or failover
            # no request is handed a dead connection (the fault tests showed 503s without it)
            kwargs.update(pool_pre_ping=True, pool_size=5, max_overflow=10, pool_recycle=1800)
        self.engine: Engine = create_engine(url, **kwargs)
        if clock is not None:
            _CLOCKS[self.engine] = clock
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed when the block ends, rolled back on error."""
        session = self.sessionmaker()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
        # side effects (e-mail…) only once the change is durable
        for callback in session.info.pop("after_commit", []):
            callback()

    @staticmethod
    def without_waiting_for_disk(session: Session) -> None:
        """This transaction commits without waiting for the disk (PostgreSQL ``synchronous_commit off``).

        Only for writes that may be lost in a server crash without harm, such as what a login
        refreshes from the SIGB (asked again at the next login) and the last-login time: the commit
        is still atomic and ordered, the request just does not wait for the WAL flush.
        """
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SET LOCAL synchronous_commit TO OFF"))

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()
