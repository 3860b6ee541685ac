"""The Redis state store: production backend, shared by every node."""

from __future__ import annotations

import json
from typing import Any

import redis

from . import StateUnavailable, Value

_PREFIX = "sesame:"


def _dumps(value: Value) -> str:
    return json.dumps(value, separators=(",", ":"))


class RedisStateStore:
    backend = "redis"

    def __init__(self, url: str, *, timeout: float = 2.0) -> None:
        self.url = url
        self.client = redis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            health_check_interval=30,
            retry_on_timeout=False,
        )

    def _call(self, fn, *args: Any) -> Any:
        try:
            return fn(*args)
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            raise StateUnavailable("the state store (Redis) does not answer") from exc

    def put(self, key: str, value: Value, ttl: int, *, replacing: str | None = None) -> None:
        if replacing is None:
            self._call(self.client.set, _PREFIX + key, _dumps(value), ttl)
            return

        def run() -> None:
            pipe = self.client.pipeline(transaction=True)
            pipe.set(_PREFIX + key, _dumps(value), ttl)
            pipe.delete(_PREFIX + replacing)
            pipe.execute()

        self._call(run)

    def add(self, key: str, value: Value, ttl: int) -> bool:
        return bool(self._call(lambda: self.client.set(_PREFIX + key, _dumps(value), ex=ttl, nx=True)))

    def get(self, key: str) -> Value | None:
        raw = self._call(self.client.get, _PREFIX + key)
        return json.loads(raw) if raw is not None else None

    def get_many(self, keys: list[str]) -> list[Value | None]:
        if not keys:
            return []
        raws = self._call(self.client.mget, [_PREFIX + k for k in keys])
        return [json.loads(r) if r is not None else None for r in raws]

    def take(self, key: str) -> Value | None:
        raw = self._call(self.client.getdel, _PREFIX + key)
        return json.loads(raw) if raw is not None else None

    def delete(self, *keys: str) -> None:
        if keys:
            self._call(self.client.delete, *[_PREFIX + k for k in keys])

    def touch(self, key: str, ttl: int) -> bool:
        return bool(self._call(self.client.expire, _PREFIX + key, ttl))

    def incr(self, key: str, ttl: int) -> int:
        def run() -> int:
            pipe = self.client.pipeline(transaction=True)
            pipe.incr(_PREFIX + key)
            pipe.expire(_PREFIX + key, ttl, nx=True)
            return int(pipe.execute()[0])

        return self._call(run)

    def ping(self) -> None:
        self._call(self.client.ping)

    def purge_expired(self) -> int:
        return 0  # Redis expires keys itself
