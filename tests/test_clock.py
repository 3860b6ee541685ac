"""The one clock of a runtime (``broker.clock``) and the clock tests move (``broker.testing.MovableClock``)."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime

import pytest

from broker.clock import SYSTEM, Clock, SystemClock
from broker.testing import MovableClock


def test_the_system_clock_reads_the_machine():
    before = time.time()
    assert isinstance(SYSTEM, Clock) and isinstance(SystemClock(), Clock)
    assert before <= SYSTEM.wall() <= time.time()
    assert SYSTEM.utcnow().tzinfo is UTC
    assert SYSTEM.today() == datetime.now(UTC).date()
    assert SYSTEM.monotonic() <= time.monotonic()


def test_a_movable_clock_moves_wall_and_monotonic_time_together():
    clock = MovableClock()
    assert isinstance(clock, Clock)
    wall, mono = clock.wall(), clock.monotonic()
    clock.advance(3600)
    assert clock.wall() - wall >= 3600 and clock.monotonic() - mono >= 3600
    assert clock.wall() - time.time() == pytest.approx(3600, abs=5)  # still following the machine's clock
    with pytest.raises(ValueError):
        clock.advance(-1)  # monotonic time never goes back


def test_a_clock_standing_still_counts_exact_seconds():
    clock = MovableClock(at=datetime(2026, 12, 31, 23, 59, 30, tzinfo=UTC).timestamp())
    mono = clock.monotonic()
    assert clock.wall() == clock.wall()  # nothing moves by itself
    clock.advance(31)
    assert clock.today() == date(2027, 1, 1) and clock.utcnow().second == 1
    assert clock.monotonic() - mono == 31
    clock.move_to(clock.wall() + 60)
    assert clock.utcnow() == datetime(2027, 1, 1, 0, 1, 1, tzinfo=UTC)


def test_the_app_reads_its_clock(clocked_app):
    """The runtime, its state store and the rows' time stamps follow the clock the app was built with."""
    from sqlalchemy import select

    from broker.db.mail_models import OutboxMessage

    runtime = clocked_app.extensions["broker"]
    clock = clocked_app.clock
    assert runtime.clock is clock and runtime.sigb.clock is clock
    runtime.state.put("short", {"x": 1}, 10)
    clock.advance(11)
    assert runtime.state.get("short") is None  # expired by the app's clock, without waiting
    clock.advance(86_400 * 400)
    with runtime.db.session() as s:
        s.add(OutboxMessage(state="pending", recipient="a@example.org", subject="s", body="b", message_id="<m@x>",
                            attempts=0, next_attempt_at=clock.utcnow(), last_error=""))
    with runtime.db.session() as s:
        stamp = s.scalar(select(OutboxMessage.created_at))
    stamp = stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
    assert abs((stamp - clock.utcnow()).total_seconds()) < 5  # a default stamp more than a year ahead, as the clock
