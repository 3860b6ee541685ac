"""The Redis state store: production backend, shared by every node.

Commands go straight to a pooled connection (redis-py's ``Connection``:
its parser, hiredis when installed, and its health check), not through
``redis.Redis``: the client's per-command machinery (retry wrapper,
observability hooks, pool bookkeeping with a lock and a readiness poll)
cost more CPU than the round trip itself, and every single sign-on makes
one to three of them. Commands read or written together go in one write
(``_run``): a pipeline, in MULTI/EXEC when they must apply together.
"""

from __future__ import annotations

import json
import os
from typing import Any

import redis

from . import StateUnavailable, Value

_PREFIX = "sesame:"
_FAILURES = (redis.ConnectionError, redis.TimeoutError, OSError)


def _dumps(value: Value) -> str:
    return json.dumps(value, separators=(",", ":"))


def _loads(raw: bytes | None) -> Value | None:
    return json.loads(raw) if raw is not None else None


class RedisStateStore:
    backend = "redis"

    def __init__(self, url: str, *, timeout: float = 2.0) -> None:
        self.url = url
        # the pool only turns the URL into connection settings: connections are kept below
        pool = redis.ConnectionPool.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout,
                                             health_check_interval=30)
        self._make = lambda: pool.connection_class(**pool.connection_kwargs)
        self._idle: list[Any] = []  # connections not in use (list.pop/append are atomic: threads share it)
        self._pid = os.getpid()

    # -- the wire ---------------------------------------------------------------------------
    def _connection(self):
        if self._pid != os.getpid():  # a forked child never uses its parent's sockets
            self._idle, self._pid = [], os.getpid()
        try:
            return self._idle.pop()
        except IndexError:
            return self._make()

    def _run(self, *commands: tuple) -> list[Any]:
        """Send ``commands`` in one write and read their replies in order.

        A connection that fails is closed and the commands are sent once more on a new one (a
        restarted Redis leaves every idle connection dead); a second failure is an outage.
        """
        for attempt in (1, 2):
            conn = self._connection()
            try:
                if len(commands) == 1:
                    conn.send_command(*commands[0])
                else:
                    conn.send_packed_command(conn.pack_commands(commands))
                replies = [conn.read_response() for _ in commands]
            except _FAILURES as exc:
                conn.disconnect()
                if attempt == 2:
                    raise StateUnavailable("the state store (Redis) does not answer") from exc
                continue
            except BaseException:
                conn.disconnect()  # a reply may still be in flight: never reuse this connection
                raise
            self._idle.append(conn)
            return replies
        raise AssertionError("unreachable")

    def _one(self, *command: Any) -> Any:
        return self._run(command)[0]

    def _transaction(self, *commands: tuple) -> list[Any]:
        """``commands`` in MULTI/EXEC, in one round trip; their replies."""
        *_, done = self._run(("MULTI",), *commands, ("EXEC",))
        if done is None:
            raise StateUnavailable("the state store (Redis) refused a transaction")
        return done

    # -- the store --------------------------------------------------------------------------
    def put(self, key: str, value: Value, ttl: int, *, replacing: str | None = None) -> None:
        if replacing is None:
            self._one("SET", _PREFIX + key, _dumps(value), "EX", ttl)
            return
        self._transaction(("SET", _PREFIX + key, _dumps(value), "EX", ttl), ("DEL", _PREFIX + replacing))

    def put_many(self, items: list[tuple[str, Value, int]]) -> None:
        """Several ``put`` (key, value, ttl) in one round trip."""
        if items:
            self._run(*[("SET", _PREFIX + key, _dumps(value), "EX", ttl) for key, value, ttl in items])

    def add(self, key: str, value: Value, ttl: int) -> bool:
        return self._one("SET", _PREFIX + key, _dumps(value), "EX", ttl, "NX") is not None

    def get(self, key: str) -> Value | None:
        return _loads(self._one("GET", _PREFIX + key))

    def get_many(self, keys: list[str]) -> list[Value | None]:
        if not keys:
            return []
        return [_loads(raw) for raw in self._one("MGET", *[_PREFIX + k for k in keys])]

    def read_and_count(self, keys: list[str], counter: str, ttl: int) -> tuple[list[Value | None], int]:
        name = _PREFIX + counter
        commands: list[tuple] = [("MGET", *[_PREFIX + k for k in keys])] if keys else []
        replies = self._run(*commands, ("MULTI",), ("INCR", name), ("EXPIRE", name, ttl, "NX"), ("EXEC",))
        if replies[-1] is None:
            raise StateUnavailable("the state store (Redis) refused a transaction")
        values = [_loads(raw) for raw in replies[0]] if keys else []
        return values, int(replies[-1][0])

    def take(self, key: str) -> Value | None:
        return _loads(self._one("GETDEL", _PREFIX + key))

    def delete(self, *keys: str) -> None:
        if keys:
            self._one("DEL", *[_PREFIX + k for k in keys])

    def touch(self, key: str, ttl: int) -> bool:
        return bool(self._one("EXPIRE", _PREFIX + key, ttl))

    def incr(self, key: str, ttl: int) -> int:
        return int(self._transaction(("INCR", _PREFIX + key), ("EXPIRE", _PREFIX + key, ttl, "NX"))[0])

    def ping(self) -> None:
        self._one("PING")

    def purge_expired(self) -> int:
        return 0  # Redis expires keys itself
