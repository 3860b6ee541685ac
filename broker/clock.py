"""The one place that reads the time, so that tests and rules agree on "now"."""

from __future__ import annotations

import time
from datetime import date, datetime, timezone


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def today() -> date:
    """Today's date in UTC (agreements, cards and ages are decided on it)."""
    return utcnow().date()


def as_utc(moment: datetime) -> datetime:
    """``moment`` with its time zone; a naive value (SQLite gives them back so) is taken as UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def now() -> float:
    """Seconds since the epoch (rate limits and back-off read it here, so tests can move it)."""
    return time.time()


def monotonic() -> float:
    """Seconds on a clock that never goes back (cache ages and intervals are measured on it)."""
    return time.monotonic()
