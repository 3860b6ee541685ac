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

from flask import Flask, current_app, request

log = logging.getLogger("broker.demo_suppliers")

#: blueprints whose pages read the monthly tables
STATS_BLUEPRINTS = ("stats", "stats_api")
#: at most one aggregation per process in this many seconds
MIN_INTERVAL = 5.0



class _Throttle:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.last = float("-inf")


def refresh(runtime, *, now: float | None = None) -> bool:
    """Aggregate the changed months unless done a moment ago (or running): True when it ran."""
    throttle = runtime.caches.setdefault("demo:stats-refresh", _Throttle())
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
    @app.before_request
    def _aggregate_for_stats_pages():
        if request.blueprint in STATS_BLUEPRINTS and request.method == "GET":
            refresh(current_app.extensions["broker"])
