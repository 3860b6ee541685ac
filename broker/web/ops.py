"""Operations endpoints: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import hmac
import os
import time

from flask import Blueprint, Response, abort, current_app, g, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess

from ..errors import BrokerError
from ..metrics import LATENCY, REQUESTS

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    runtime = current_app.extensions["broker"]
    checks: dict[str, str] = {}
    ok = True
    for name, ping in (("database", runtime.db.ping), ("state", runtime.state.ping)):
        try:
            ping()
            checks[name] = "ok"
        except (BrokerError, Exception) as exc:  # readiness must answer, whatever broke
            ok = False
            checks[name] = f"unavailable: {type(exc).__name__}"
    return jsonify(status="ok" if ok else "unavailable", checks=checks), (200 if ok else 503)


@bp.get("/metrics")
def metrics():
    """Prometheus figures, only to a scraper that shows ``metrics_token`` (404 to anyone else).

    The usual way is ``metrics_bind``: ``broker serve`` answers them on a port of their own.
    """
    token = current_app.extensions["broker"].settings.metrics_token
    offered = request.headers.get("Authorization", "")
    if not token or not hmac.compare_digest(offered.encode(), f"Bearer {token}".encode()):
        abort(404)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        data = generate_latest(registry)
    else:
        data = generate_latest()
    return Response(data, mimetype=CONTENT_TYPE_LATEST)


@bp.before_app_request
def _start_timer() -> None:
    g._t0 = time.perf_counter()


#: (endpoint, status) → its request counter and latency histogram (looked up once: a few hundred at most)
_series: dict[tuple[str, int], tuple] = {}


@bp.after_app_request
def _count(response):
    key = (request.endpoint or "unknown", response.status_code)
    series = _series.get(key)
    if series is None:
        series = _series.setdefault(key, (REQUESTS.labels(key[0], str(key[1])), LATENCY.labels(key[0])))
    series[0].inc()
    t0 = g.get("_t0")
    if t0 is not None:
        series[1].observe(time.perf_counter() - t0)
    return response
