"""The time, as the broker reads it: one ``Clock`` per runtime, so that tests and rules agree on "now".

Every module that needs the time takes it from a clock it is given (``runtime.clock``, or the
clock handed to the state store, the SIGB gateway, the usage log and the connectors).
Tests give the runtime a :class:`broker.testing.clock.MovableClock` and move time instead of
waiting for it. The domain (``broker.domain``) reads no clock at all: it takes dates as arguments.

The module functions ``utcnow()``, ``today()`` and ``now()`` read the system clock; they remain
for the few places that have no runtime at hand: defaults of functions that take ``now`` (SP
metadata read by the CLI, statistics months), key generation outside a key store, and the
COUNTER harvest. The rows' default time stamps follow the clock of the runtime that owns the
database (``broker.db.clock_of``).
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """Wall time (seconds since the epoch) for what is stored or shared, monotonic for durations."""

    def wall(self) -> float:
        """Seconds since the epoch: expiry dates, lockouts, tokens, anything another process reads."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back: in-process cache ages and deadlines."""

    def utcnow(self) -> datetime:
        """Now, with its UTC time zone."""

    def today(self) -> date:
        """Today's date in UTC (agreements, cards and ages are decided on it)."""


class SystemClock:
    """The machine's clock."""

    def wall(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def utcnow(self) -> datetime:
        return datetime.now(UTC)

    def today(self) -> date:
        return self.utcnow().date()

    def __repr__(self) -> str:
        return "SystemClock()"


#: the clock of code that runs without a runtime
SYSTEM = SystemClock()


def utcnow() -> datetime:
    """Now, by the system clock (code with a runtime reads ``runtime.clock`` instead)."""
    return SYSTEM.utcnow()


def today() -> date:
    """Today's UTC date, by the system clock (code with a runtime reads ``runtime.clock`` instead)."""
    return SYSTEM.today()


def now() -> float:
    """Seconds since the epoch, by the system clock (code with a runtime reads ``runtime.clock`` instead)."""
    return SYSTEM.wall()


def as_utc(moment: datetime) -> datetime:
    """``moment`` with its time zone; a naive value (SQLite gives them back so) is taken as UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def monotonic() -> float:
    """Monotonic seconds, by the system clock (code with a runtime reads ``runtime.clock`` instead)."""
    return SYSTEM.monotonic()
