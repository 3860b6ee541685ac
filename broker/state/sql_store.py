"""The embedded state store: the ``state_entries`` table of the main database.

Every operation is one statement, so concurrent workers stay consistent:
``take`` is ``DELETE … RETURNING``, counters are upserts.
"""

from __future__ import annotations

import json
import random

from sqlalchemy import Integer, String, case, cast, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from ..clock import SYSTEM, Clock
from ..db.models import StateEntry
from . import StateUnavailable, Value

_table = StateEntry.__table__


def _dumps(value: Value) -> str:
    return json.dumps(value, separators=(",", ":"))


class SqlStateStore:
    backend = "sql"

    def __init__(self, engine: Engine, *, purge_probability: float = 0.01, clock: Clock | None = None) -> None:
        self.engine = engine
        self.clock: Clock = clock or SYSTEM
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        self._purge_probability = purge_probability

    def _run(self, statement, *more):
        try:
            with self.engine.begin() as conn:
                result = conn.execute(statement)
                for other in more:
                    conn.execute(other)
                return result
        except (OperationalError, DBAPIError) as exc:
            raise StateUnavailable("the state store (database) does not answer") from exc

    def _maybe_purge(self) -> None:
        if random.random() < self._purge_probability:
            self.purge_expired()

    def put(self, key: str, value: Value, ttl: int, *, replacing: str | None = None) -> None:
        stmt = self._insert(_table).values(key=key, value=_dumps(value), expires_at=self.clock.wall() + ttl)
        stmt = stmt.on_conflict_do_update(
            index_elements=[_table.c.key],
            set_={"value": stmt.excluded.value, "expires_at": stmt.excluded.expires_at},
        )
        if replacing is None:
            self._run(stmt)
        else:
            self._run(stmt, delete(_table).where(_table.c.key == replacing))
        self._maybe_purge()

    def add(self, key: str, value: Value, ttl: int) -> bool:
        now = self.clock.wall()
        stmt = self._insert(_table).values(key=key, value=_dumps(value), expires_at=now + ttl)
        stmt = stmt.on_conflict_do_update(
            index_elements=[_table.c.key],
            set_={"value": stmt.excluded.value, "expires_at": stmt.excluded.expires_at},
            where=_table.c.expires_at <= now,
        ).returning(_table.c.key)
        return self._run_fetch_one(stmt) is not None

    def _run_fetch_one(self, statement):
        try:
            with self.engine.begin() as conn:
                return conn.execute(statement).first()
        except (OperationalError, DBAPIError) as exc:
            raise StateUnavailable("the state store (database) does not answer") from exc

    def get(self, key: str) -> Value | None:
        row = self._run_fetch_one(
            select(_table.c.value).where(_table.c.key == key, _table.c.expires_at > self.clock.wall())
        )
        return json.loads(row[0]) if row else None

    def get_many(self, keys: list[str]) -> list[Value | None]:
        if not keys:
            return []
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    select(_table.c.key, _table.c.value).where(
                        _table.c.key.in_(keys), _table.c.expires_at > self.clock.wall()
                    )
                ).all()
        except (OperationalError, DBAPIError) as exc:
            raise StateUnavailable("the state store (database) does not answer") from exc
        found = {k: json.loads(v) for k, v in rows}
        return [found.get(k) for k in keys]

    def read_and_count(self, keys: list[str], counter: str, ttl: int) -> tuple[list[Value | None], int]:
        return self.get_many(keys), self.incr(counter, ttl)

    def take(self, key: str) -> Value | None:
        row = self._run_fetch_one(
            delete(_table).where(_table.c.key == key).returning(_table.c.value, _table.c.expires_at)
        )
        if row is None or row[1] <= self.clock.wall():
            return None
        return json.loads(row[0])

    def delete(self, *keys: str) -> None:
        if keys:
            self._run(delete(_table).where(_table.c.key.in_(keys)))

    def touch(self, key: str, ttl: int) -> bool:
        now = self.clock.wall()
        result = self._run(
            update(_table).where(_table.c.key == key, _table.c.expires_at > now).values(expires_at=now + ttl)
        )
        return result.rowcount > 0

    def incr(self, key: str, ttl: int) -> int:
        now = self.clock.wall()
        stmt = self._insert(_table).values(key=key, value="1", expires_at=now + ttl)
        expired = _table.c.expires_at <= now
        stmt = stmt.on_conflict_do_update(
            index_elements=[_table.c.key],
            set_={
                "value": case((expired, "1"), else_=cast(cast(_table.c.value, Integer) + 1, String)),
                "expires_at": case((expired, now + ttl), else_=_table.c.expires_at),
            },
        ).returning(_table.c.value)
        row = self._run_fetch_one(stmt)
        return int(row[0])

    def ping(self) -> None:
        self._run_fetch_one(select(1))

    def purge_expired(self) -> int:
        return self._run(delete(_table).where(_table.c.expires_at <= self.clock.wall())).rowcount
