"""The nightly harvest, run by ``broker serve``: once a day after 04:00 (Paris), by one worker of one node.

Every worker of every node checks every ``POLL`` seconds; the first to move the
``harvest-day`` mark (a row of ``stats_cursors``, holding the day as
``YYYYMMDD``) to today with a conditional UPDATE runs the harvest, the others
see the mark already moved and do nothing.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ... import clock
from ...db.counter_models import SushiAccount
from ...db.stats_models import StatsCursor
from ..stats.months import TIMEZONE

if TYPE_CHECKING:
    from ...runtime import Runtime

log = logging.getLogger(__name__)
MARK = "harvest-day"
HOUR = 4
POLL = 600.0


def claim(runtime: Runtime, now: datetime) -> bool:
    """True for the one caller that claims today's harvest (after ``HOUR`` o'clock, Paris time)."""
    local = now.astimezone(TIMEZONE)
    if local.hour < HOUR:
        return False
    today = int(local.strftime("%Y%m%d"))
    with runtime.db.session() as session:
        if session.scalar(select(SushiAccount.id).limit(1)) is None:
            return False
        if session.get(StatsCursor, MARK) is None:
            try:
                with session.begin_nested():
                    session.add(StatsCursor(name=MARK, position=0))
            except IntegrityError:
                pass
        moved = session.execute(update(StatsCursor).where(StatsCursor.name == MARK, StatsCursor.position < today)
                                .values(position=today)).rowcount  # type: ignore[attr-defined]  # an UPDATE gives a CursorResult
    return moved == 1


def run_once(runtime: Runtime, now: datetime | None = None) -> list | None:
    """Harvest if this caller claims today's run; the results, or None when another ran (or will run) it."""
    if not claim(runtime, now or clock.utcnow()):
        return None
    from .harvest import harvest

    results = harvest(runtime)
    for r in results:
        log.info("sushi harvest %s: %s%s", r.supplier, r.status, f" ({r.error[:200]})" if r.error else "")
    return results


def run_worker(runtime: Runtime, stop_event: threading.Event, *, poll: float = POLL) -> None:
    while not stop_event.is_set():
        try:
            run_once(runtime)
        except Exception as exc:  # keep going: the database or the network may come back
            log.warning("sushi harvest run failed: %s", type(exc).__name__)
        stop_event.wait(poll)
