"""A clock that tests move by hand, for the broker and for plugins' own tests.

``MovableClock()`` follows the machine's clock; ``advance(seconds)`` moves its wall and monotonic
readings forward together, so that an expiry, a lockout or a cache's age is reached at once
instead of by sleeping. ``MovableClock(at=...)`` stands still at that wall time until moved,
for tests that count seconds exactly (rate-limit windows, bucket boundaries).

    clock = MovableClock()
    app = create_app(settings, clock=clock)     # or Runtime(settings, clock=clock)
    ...
    clock.advance(3600)                          # an hour later
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime


class MovableClock:
    """A :class:`broker.clock.Clock` whose time moves forward when the test says so."""

    def __init__(self, at: float | None = None) -> None:
        self._lock = threading.Lock()
        self._frozen = at is not None
        self._offset = 0.0
        if at is not None:
            self._wall, self._mono = float(at), 1_000_000.0

    def wall(self) -> float:
        return self._wall + self._offset if self._frozen else time.time() + self._offset

    def monotonic(self) -> float:
        return self._mono + self._offset if self._frozen else time.monotonic() + self._offset

    def utcnow(self) -> datetime:
        return datetime.fromtimestamp(self.wall(), UTC)

    def today(self) -> date:
        return self.utcnow().date()

    def advance(self, seconds: float) -> None:
        """Move wall and monotonic time ``seconds`` forward (never back: monotonic time does not)."""
        if seconds < 0:
            raise ValueError("a clock moves forward only")
        with self._lock:
            self._offset += seconds

    def move_to(self, wall: float) -> None:
        """Move forward to the wall time ``wall`` (seconds since the epoch)."""
        self.advance(wall - self.wall())

    def __repr__(self) -> str:
        return f"MovableClock({self.utcnow().isoformat()})"
