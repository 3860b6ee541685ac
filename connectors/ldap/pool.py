"""A small pool of open LDAP connections, so that a login does not pay a TCP/TLS handshake."""

from __future__ import annotations

import threading
from collections.abc import Callable

from ldap.ldapobject import LDAPObject


class ConnectionPool:
    """Idle connections kept for reuse; a connection is lent to one thread at a time.

    The pool never limits how many connections are open at once (a login
    never waits for another one); it only caps how many idle ones it keeps.
    """

    def __init__(self, opener: Callable[[float], LDAPObject], max_idle: int) -> None:
        self._opener = opener
        self._max_idle = max_idle
        self._idle: list[LDAPObject] = []
        self._lock = threading.Lock()

    def acquire(self, timeout: float) -> tuple[LDAPObject, bool]:
        """A connection and whether it was reused (a reused one may have been dropped by the server)."""
        with self._lock:
            if self._idle:
                return self._idle.pop(), True
        return self._opener(timeout), False

    def release(self, conn: LDAPObject) -> None:
        with self._lock:
            if len(self._idle) < self._max_idle:
                self._idle.append(conn)
                return
        discard(conn)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            discard(conn)

    @property
    def idle_count(self) -> int:
        with self._lock:
            return len(self._idle)


def discard(conn: LDAPObject) -> None:
    """Close a connection whose state is unknown, ignoring any error."""
    try:
        conn.unbind_ext_s()
    except Exception:  # noqa: BLE001 - the connection is being thrown away
        pass
