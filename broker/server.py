"""``broker serve``: Sésame under gunicorn, as a service runs it.

The master process reads the settings once (a bad one stops the start with one
line and exit 2), checks that the ports it must listen on are free, prepares the
Prometheus multiprocess folder and, when ``metrics_bind`` is set, answers
``/metrics`` there for Prometheus. Each worker imports ``broker.wsgi:app`` after
the fork and runs the background jobs that must keep going in every node (the
mail outbox sender).

The workers are gunicorn's threaded ones (``gthread``): each answers up to
``threads`` requests at once and keeps a client's connection open for
``keepalive`` seconds between its requests, which is what makes a flow of
several requests cheap (docs/operations.md, "Serving stack"). Gunicorn's own
``timeout`` only watches a threaded worker's main loop, so every worker also
runs a :class:`RequestWatchdog`: a request that runs longer than ``timeout``
seconds is logged (method, path, time) and its worker exits, to be replaced by
the arbiter, as a sync worker would be. Workers are recycled after
``max_requests`` requests, ``SIGHUP`` reloads them gracefully and ``SIGTERM``
stops the server gracefully.
"""

from __future__ import annotations

import argparse
import errno
import os
import re
import shutil
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import Settings, parse_bind
from .errors import ConfigError

DEFAULT_BIND = "127.0.0.1:5000"


DEFAULT_THREADS = 4
DEFAULT_KEEPALIVE = 5
#: the exit status of a worker that the watchdog ends (gunicorn halts on 3 and 4, never use those)
WATCHDOG_EXIT = 1


def default_workers() -> int:
    """One threaded worker per core (at least two), as measured in docs/operations.md."""
    return max(2, os.cpu_count() or 1)


@dataclass
class ServeOptions:
    bind: str = DEFAULT_BIND
    workers: int = field(default_factory=default_workers)
    #: requests a worker answers at once
    threads: int = DEFAULT_THREADS
    #: seconds a client's connection stays open after a response, waiting for its next request
    keepalive: int = DEFAULT_KEEPALIVE
    #: seconds a request may run before its worker is replaced
    timeout: int = 30
    graceful_timeout: int = 20
    max_requests: int = 20_000
    max_requests_jitter: int = 2_000
    access_log: bool = True
    log_level: str = "info"


_LONG_SEGMENT = re.compile(r"[^/]{17,}")


def loggable_path(path: str) -> str:
    """``path`` for a log line: a long segment (an invitation token, say) is cut to its first 4 characters."""
    return _LONG_SEGMENT.sub(lambda m: m.group(0)[:4] + "…", path)


class RequestWatchdog:
    """The requests a worker is answering, each with its start time; which ones outlived ``timeout``.

    ``started`` and ``ended`` are called by the thread that answers the request (gunicorn's
    ``pre_request`` and ``post_request`` hooks); ``watch`` runs in a thread of its own.
    """

    def __init__(self, timeout: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.timeout = timeout
        self.clock = clock
        #: thread id → (start time, method, path): a thread answers one request at a time
        self._running: dict[int, tuple[float, str, str]] = {}
        self._lock = threading.Lock()

    def started(self, method: str, path: str) -> None:
        with self._lock:
            self._running[threading.get_ident()] = (self.clock(), method, path)

    def ended(self) -> None:
        with self._lock:
            self._running.pop(threading.get_ident(), None)

    def overdue(self) -> dict[int, tuple[float, str, str]]:
        """Thread id → (seconds running, method, path) of the requests running longer than ``timeout``."""
        now = self.clock()
        with self._lock:
            return {ident: (now - begun, method, path) for ident, (begun, method, path) in self._running.items()
                    if now - begun > self.timeout}

    def others_running(self, idents: set[int]) -> bool:
        """Whether a request is running in a thread not in ``idents``."""
        with self._lock:
            return any(ident not in idents for ident in self._running)

    def watch(self, worker: Any, *, interval: float, grace: float,
              leave: Callable[[int], None] = os._exit) -> None:
        """Until a request is overdue; then log it, stop the worker and leave once its other requests are done.

        The worker stops taking connections at once (as on SIGTERM); the requests it is already
        answering get at most ``grace`` seconds to end. A thread cannot be interrupted, so the
        process then leaves with ``os._exit``: the arbiter sees the worker exit and starts another.
        """
        while True:
            time.sleep(interval)
            overdue = self.overdue()
            if overdue:
                break
        for elapsed, method, path in overdue.values():
            worker.log.error("WORKER TIMEOUT (pid:%s): %s %s still running after %.1f s (timeout %s s); "
                             "the worker exits and is replaced", os.getpid(), method, loggable_path(path),
                             elapsed, self.timeout)
        worker.alive = False
        wake = getattr(getattr(worker, "method_queue", None), "defer", None)
        if wake is not None:
            wake(lambda: None)  # the main loop sees at once that it must stop taking connections
        deadline = self.clock() + grace
        while self.others_running(set(overdue)) and self.clock() < deadline:
            time.sleep(min(interval, 0.1))
        leave(WATCHDOG_EXIT)


def watchdog_interval(timeout: float) -> float:
    """How often the watchdog looks: a tenth of the timeout, between 50 ms and 1 s."""
    return max(0.05, min(1.0, timeout / 10))


def check_port_free(bind: str, *, key: str) -> tuple[str, int]:
    """Bind and release ``bind`` at once; ConfigError naming ``key`` when it is taken or not ours."""
    host, port = parse_bind(bind, key=key)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    probe = socket.socket(family, socket.SOCK_STREAM)
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        probe.bind((host, port))
    except OSError as exc:
        reason = "already in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc))
        raise ConfigError(key, f"cannot listen on {bind}: {reason}") from None
    finally:
        probe.close()
    return host, port


def prepare_metrics_folder(settings: Settings) -> Path:
    """``PROMETHEUS_MULTIPROC_DIR`` (under the instance folder unless set), emptied at each start."""
    folder = Path(os.environ.get("PROMETHEUS_MULTIPROC_DIR") or Path(settings.instance_path) / "metrics")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    return folder


def start_metrics_listener(settings: Settings) -> Any:
    """Serve the workers' merged metrics on ``metrics_bind`` (from the master, which holds no app)."""
    from prometheus_client import CollectorRegistry, multiprocess, start_http_server

    host, port = parse_bind(settings.metrics_bind, key="metrics_bind")
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    server, _thread = start_http_server(port, addr=host, registry=registry)
    return server


def worker_jobs(app: Any) -> list[Callable[[threading.Event], None]]:
    """The background jobs a worker runs beside its requests (each takes a stop event)."""
    runtime = app.extensions["broker"]
    jobs: list[Callable[[threading.Event], None]] = []
    for found in runtime.pm.hook.broker_background_jobs(runtime=runtime):
        jobs.extend(found or ())
    return jobs


def serve(settings: Settings, options: ServeOptions) -> int:
    """Run gunicorn in this process until it stops; the exit code of the master."""
    from gunicorn.app.base import BaseApplication

    check_port_free(options.bind, key="bind")
    if settings.metrics_bind:
        check_port_free(settings.metrics_bind, key="metrics_bind")
    prepare_metrics_folder(settings)
    listener: list[Any] = []

    def when_ready(server: Any) -> None:
        if settings.metrics_bind:
            listener.append(start_metrics_listener(settings))
            server.log.info("metrics on http://%s/metrics", settings.metrics_bind)

    def post_worker_init(worker: Any) -> None:
        stop = threading.Event()
        worker.sesame_stop = stop
        for job in worker_jobs(worker.wsgi):
            threading.Thread(target=job, args=(stop,), name=getattr(job, "__name__", "job"), daemon=True).start()
        watchdog = RequestWatchdog(options.timeout)
        worker.sesame_watchdog = watchdog
        threading.Thread(target=watchdog.watch, args=(worker,), name="request-watchdog", daemon=True,
                         kwargs={"interval": watchdog_interval(options.timeout),
                                 "grace": options.graceful_timeout}).start()

    def pre_request(worker: Any, req: Any) -> None:
        watchdog = getattr(worker, "sesame_watchdog", None)
        if watchdog is not None:
            watchdog.started(req.method or "", req.path or "")

    def post_request(worker: Any, req: Any, environ: Any, resp: Any) -> None:
        watchdog = getattr(worker, "sesame_watchdog", None)
        if watchdog is not None:
            watchdog.ended()

    def worker_exit(server: Any, worker: Any) -> None:
        stop = getattr(worker, "sesame_stop", None)
        if stop is not None:
            stop.set()

    def child_exit(server: Any, worker: Any) -> None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)

    config = {
        "bind": [options.bind],
        "workers": options.workers,
        "worker_class": "gthread",
        "threads": options.threads,
        "keepalive": options.keepalive,
        # the arbiter's own timeout watches each worker's main loop (RequestWatchdog, its requests)
        "timeout": options.timeout,
        "graceful_timeout": options.graceful_timeout,
        "max_requests": options.max_requests,
        "max_requests_jitter": options.max_requests_jitter,
        "accesslog": "-" if options.access_log else None,
        "errorlog": "-",
        "loglevel": options.log_level,
        "backlog": 2048,
        "proc_name": "sesame",
        # gunicorn ≥ 24 opens a control socket; one per instance, so that two services never share it
        "control_socket": str(Path(settings.instance_path) / "gunicorn.ctl"),
        "when_ready": when_ready,
        "post_worker_init": post_worker_init,
        "pre_request": pre_request,
        "post_request": post_request,
        "worker_exit": worker_exit,
        "child_exit": child_exit,
    }

    class Sesame(BaseApplication):
        def load_config(self) -> None:
            for key, value in config.items():
                if value is not None and key in self.cfg.settings:
                    self.cfg.set(key, value)

        def load(self) -> Any:
            from .wsgi import app

            return app

    master = os.getpid()
    try:
        Sesame().run()
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    finally:
        # a worker leaves through here too (gunicorn ends it with SystemExit): the listener's thread
        # lives in the master only, and shutdown() would wait for it forever in a worker
        if os.getpid() == master:
            for server in listener:
                server.shutdown()
    return 0



def command(options: ServeOptions) -> list[str]:
    """The command line that serves with ``options`` in a fresh process (``python -m broker.server``).

    A fresh process, because the Prometheus client decides when ``broker.metrics`` is first
    imported whether the workers share their figures: the folder must be set before that.
    """
    argv = [sys.executable, "-m", "broker.server", "--bind", options.bind, "--workers", str(options.workers),
            "--threads", str(options.threads), "--keepalive", str(options.keepalive),
            "--timeout", str(options.timeout), "--graceful-timeout", str(options.graceful_timeout),
            "--max-requests", str(options.max_requests), "--max-requests-jitter", str(options.max_requests_jitter),
            "--log-level", options.log_level]
    if not options.access_log:
        argv.append("--no-access-log")
    return argv


def main(argv: list[str] | None = None) -> int:
    from .config import load_settings

    defaults = ServeOptions()
    parser = argparse.ArgumentParser(prog="broker serve", description="Serve Sésame under gunicorn.")
    parser.add_argument("--bind", default=defaults.bind)
    parser.add_argument("--workers", type=int, default=defaults.workers)
    parser.add_argument("--threads", type=int, default=defaults.threads)
    parser.add_argument("--keepalive", type=int, default=defaults.keepalive)
    parser.add_argument("--timeout", type=int, default=defaults.timeout)
    parser.add_argument("--graceful-timeout", type=int, default=defaults.graceful_timeout)
    parser.add_argument("--max-requests", type=int, default=defaults.max_requests)
    parser.add_argument("--max-requests-jitter", type=int, default=defaults.max_requests_jitter)
    parser.add_argument("--log-level", default=defaults.log_level)
    parser.add_argument("--no-access-log", dest="access_log", action="store_false")
    args = parser.parse_args(argv)
    options = ServeOptions(**{name: getattr(args, name) for name in (
        "bind", "workers", "threads", "keepalive", "timeout", "graceful_timeout", "max_requests",
        "max_requests_jitter", "log_level", "access_log")})
    try:
        return serve(load_settings(), options)
    except ConfigError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
