"""Demo mode: the statistics pages aggregate on demand, so an access shows in the charts at once.

In production the monthly tables are filled by ``broker stats aggregate``
(a nightly job). A demo has no scheduler: before a statistics page or API
call, the months whose events changed (the current one at least) are
aggregated again, at most every few seconds per process. The aggregation is
incremental and safe to run concurrently (see ``services.stats.aggregate``).
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from flask import Flask, current_app, request

if TYPE_CHECKING:
    from ..runtime import Runtime

log = logging.getLogger("broker.demo_suppliers")

#: blueprints whose pages read the monthly tables
STATS_BLUEPRINTS = ("stats", "api.stats_api")  # the API's is mounted under the API blueprint
#: at most one aggregation per process in this many seconds
MIN_INTERVAL = 5.0


class Throttle:
    """When this process last aggregated, and whether it is aggregating now."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.last = float("-inf")


def refresh(runtime: Runtime, throttle: Throttle, *, now: float | None = None) -> bool:
    """Aggregate the changed months unless done a moment ago (or running): True when it ran."""
    now = runtime.clock.monotonic() if now is None else now
    if now - throttle.last < MIN_INTERVAL or not throttle.lock.acquire(blocking=False):
        return False
    try:
        from ..services.stats import aggregate

        throttle.last = now
        aggregate(runtime)
        return True
    except Exception as exc:  # the page shows the figures already stored rather than an error
        log.warning("demo: on-demand statistics aggregation failed: %s", type(exc).__name__)
        return False
    finally:
        throttle.lock.release()


def init_app(app: Flask) -> None:
    throttle = Throttle()  # one per app, so one per process

    @app.before_request
    def _aggregate_for_stats_pages():
        if request.blueprint in STATS_BLUEPRINTS and request.method == "GET":
            refresh(current_app.extensions["broker"], throttle)
