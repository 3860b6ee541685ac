"""Short-lived shared state: sessions, pending requests, one-time codes, counters.

One interface, two backends: Redis (``redis_url``) for production and the
embedded SQL store (the ``state_entries`` table) so that several worker
processes on one machine agree without Redis. Nothing lives only in one
process's memory. Values are small JSON objects.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from ..errors import ServiceUnavailable

Value = dict[str, Any]


class StateUnavailable(ServiceUnavailable):
    """The state store does not answer."""

    code = "state_unavailable"


@runtime_checkable
class StateStore(Protocol):
    """What both backends offer. ``ttl`` is in seconds and always required."""

    backend: str

    def put(self, key: str, value: Value, ttl: int, *, replacing: str | None = None) -> None:
        """Store ``value`` under ``key`` for ``ttl`` seconds, replacing any previous value.

        ``replacing``: another key deleted at the same time (in one round trip), as when a
        session gets a new id.
        """

    def add(self, key: str, value: Value, ttl: int) -> bool:
        """Store only if ``key`` is absent (or expired); True when stored."""

    def get(self, key: str) -> Value | None:
        """The live value of ``key``, or None."""

    def get_many(self, keys: list[str]) -> list[Value | None]:
        """Several values in one round trip."""

    def read_and_count(self, keys: list[str], counter: str, ttl: int) -> tuple[list[Value | None], int]:
        """``get_many(keys)`` and ``incr(counter, ttl)`` in one round trip: (the values, the new count)."""

    def take(self, key: str) -> Value | None:
        """Read and delete atomically: of concurrent callers exactly one gets the value."""

    def delete(self, *keys: str) -> None:
        """Remove keys (missing keys are ignored)."""

    def touch(self, key: str, ttl: int) -> bool:
        """Extend a live key's life to ``ttl`` seconds from now; False when absent."""

    def incr(self, key: str, ttl: int) -> int:
        """Add one to a counter and return it; a new counter lives ``ttl`` seconds."""

    def ping(self) -> None:
        """Raise StateUnavailable when the store does not answer."""

    def purge_expired(self) -> int:
        """Remove expired entries where the backend does not do it itself."""


def open_state_store(redis_url: str, database: Any, *, clock: Any = None) -> StateStore:
    """The Redis store when ``redis_url`` is set, else the embedded SQL store.

    ``clock`` (a :class:`broker.clock.Clock`) dates the SQL store's entries; Redis keeps its own time.
    """
    if redis_url:
        from .redis_store import RedisStateStore

        return RedisStateStore(redis_url)
    from .sql_store import SqlStateStore

    return SqlStateStore(database.engine, clock=clock)
