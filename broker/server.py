"""``broker serve``: Sésame under granian, as a service runs it.

The main process reads the settings once (a bad one stops the start with one
line and exit 2), checks that the ports it must listen on are free, prepares the
Prometheus multiprocess folder and, when ``metrics_bind`` is set, answers
``/metrics`` there for Prometheus. It then runs granian's WSGI server: granian
parses HTTP outside the interpreter and hands each request to one of
``threads`` Python threads in each of ``workers`` worker processes; a client's
connection stays open ``keepalive`` seconds for its next request, which is what
makes a flow of several requests cheap (docs/operations.md, "Serving stack").

Each worker builds the app itself (:func:`worker_app`), runs the background jobs
that must keep going in every node (the mail outbox sender) and a
:class:`RequestWatchdog`: a request that runs longer than ``timeout`` seconds is
logged (method, path, time), its worker stops taking connections, gives its
other requests ``graceful_timeout`` seconds and exits; granian starts another.
Workers are replaced after ``max_lifetime`` seconds (the new one serves before
the old one stops), ``SIGHUP`` reloads them gracefully and ``SIGTERM`` stops the
server gracefully.
"""

from __future__ import annotations

import argparse
import errno
import json
import logging
import os
import re
import shutil
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from werkzeug.wsgi import ClosingIterator

from .config import Settings, parse_bind
from .errors import ConfigError

DEFAULT_BIND = "127.0.0.1:5000"
DEFAULT_THREADS = 4
DEFAULT_KEEPALIVE = 5
#: the exit status of a worker that the watchdog ends
WATCHDOG_EXIT = 1
#: how long a client has to send a request's headers when connections are not kept alive
HEADER_SECONDS = 30
#: where the main process hands the workers what they need of the options (they may be spawned, not forked)
WORKER_OPTIONS = "SESAME_SERVE_WORKER"
#: the access log: never the query string, which carries codes, tickets and SAML messages
ACCESS_FORMAT = '%(addr)s - "%(method)s %(path)s %(protocol)s" %(status)d %(dt_ms).1f ms'

log = logging.getLogger("broker.server")


def default_workers() -> int:
    """One worker per core (at least two), as measured in docs/operations.md."""
    return max(2, os.cpu_count() or 1)


@dataclass
class ServeOptions:
    bind: str = DEFAULT_BIND
    workers: int = field(default_factory=default_workers)
    #: requests a worker answers at once (its Python threads)
    threads: int = DEFAULT_THREADS
    #: seconds a client's connection stays open after a response, waiting for its next request (0: close)
    keepalive: int = DEFAULT_KEEPALIVE
    #: seconds a request may run before its worker is replaced
    timeout: int = 30
    #: seconds a leaving worker gives the requests it is answering
    graceful_timeout: int = 20
    #: seconds after which a worker is replaced by a fresh one (0: never; at least 60 otherwise)
    max_lifetime: int = 6 * 3600
    access_log: bool = True
    log_level: str = "info"


_LONG_SEGMENT = re.compile(r"[^/]{17,}")


def loggable_path(path: str) -> str:
    """``path`` for a log line: a long segment (an invitation token, say) is cut to its first 4 characters."""
    return _LONG_SEGMENT.sub(lambda m: m.group(0)[:4] + "…", path)


class RequestWatchdog:
    """The requests a worker is answering, each with its start time; which ones outlived ``timeout``.

    ``started`` and ``ended`` are called around each request (:class:`Watched`); ``watch``
    runs in a thread of its own.
    """

    def __init__(self, timeout: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.timeout = timeout
        self.clock = clock
        #: key → (start time, method, path)
        self._running: dict[int, tuple[float, str, str]] = {}
        self._lock = threading.Lock()
        self._next = 0

    def started(self, method: str, path: str) -> int:
        """Note a request begun now; the key to give ``ended``."""
        with self._lock:
            self._next += 1
            self._running[self._next] = (self.clock(), method, path)
            return self._next

    def ended(self, key: int) -> None:
        with self._lock:
            self._running.pop(key, None)

    def overdue(self) -> dict[int, tuple[float, str, str]]:
        """Key → (seconds running, method, path) of the requests running longer than ``timeout``."""
        now = self.clock()
        with self._lock:
            return {key: (now - begun, method, path) for key, (begun, method, path) in self._running.items()
                    if now - begun > self.timeout}

    def others_running(self, keys: set[int]) -> bool:
        """Whether a request not in ``keys`` is running."""
        with self._lock:
            return any(key not in keys for key in self._running)

    def watch(self, *, interval: float, grace: float, stop_taking: Callable[[], None],
              leave: Callable[[int], None] = os._exit, logger: Any = log) -> None:
        """Until a request is overdue; then log it, stop the worker and leave once its other requests are done.

        ``stop_taking`` makes the worker take no more connections (as on SIGTERM); the requests it
        is already answering get at most ``grace`` seconds to end. A thread cannot be interrupted,
        so the process then leaves with ``os._exit``: the server sees the worker exit and starts another.
        """
        while True:
            time.sleep(interval)
            overdue = self.overdue()
            if overdue:
                break
        for elapsed, method, path in overdue.values():
            logger.error("WORKER TIMEOUT (pid:%s): %s %s still running after %.1f s (timeout %s s); "
                         "the worker exits and is replaced", os.getpid(), method, loggable_path(path),
                         elapsed, self.timeout)
        stop_taking()
        deadline = self.clock() + grace
        while self.others_running(set(overdue)) and self.clock() < deadline:
            time.sleep(min(interval, 0.1))
        leave(WATCHDOG_EXIT)


class Watched:
    """A WSGI app whose requests the watchdog follows, from the call until the server closes the body."""

    def __init__(self, app: Any, watchdog: RequestWatchdog) -> None:
        self.app = app
        self.watchdog = watchdog

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        key = self.watchdog.started(environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", ""))
        try:
            body = self.app(environ, start_response)
        except BaseException:
            self.watchdog.ended(key)
            raise
        if isinstance(body, list):  # answered in full: the server sends it in one piece (broker.web.responses)
            self.watchdog.ended(key)
            return body
        return ClosingIterator(body, lambda: self.watchdog.ended(key))


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


def worker_app() -> Any:
    """What each worker serves (granian's factory ``broker.server:worker_app``): the app, watched.

    Runs in the worker: builds the app, starts the background jobs and the request watchdog.
    """
    from .wsgi import app

    given = json.loads(os.environ.get(WORKER_OPTIONS) or "{}")
    options = ServeOptions(**given)
    never = threading.Event()  # the jobs' threads end with the worker's process (daemon threads)
    for job in worker_jobs(app):
        threading.Thread(target=job, args=(never,), name=getattr(job, "__name__", "job"), daemon=True).start()
    watchdog = RequestWatchdog(options.timeout)
    threading.Thread(target=watchdog.watch, name="request-watchdog", daemon=True, kwargs={
        "interval": watchdog_interval(options.timeout), "grace": options.graceful_timeout,
        "stop_taking": lambda: os.kill(os.getpid(), signal.SIGTERM)}).start()
    return Watched(app, watchdog)


def logging_config(level: str) -> dict[str, Any]:
    """granian's own lines and the access log, timestamped, on standard error."""
    stamp = "%Y-%m-%d %H:%M:%S %z"
    return {
        "formatters": {
            "generic": {"()": "logging.Formatter", "fmt": "[%(asctime)s] [%(process)d] [%(levelname)s] %(message)s",
                        "datefmt": stamp},
            "access": {"()": "logging.Formatter", "fmt": "[%(asctime)s] %(message)s", "datefmt": stamp},
        },
        "handlers": {
            "console": {"formatter": "generic", "class": "logging.StreamHandler", "stream": "ext://sys.stderr"},
            "access": {"formatter": "access", "class": "logging.StreamHandler", "stream": "ext://sys.stderr"},
        },
        "loggers": {
            "_granian": {"handlers": ["console"], "level": level.upper(), "propagate": False},
            "granian.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
            "broker.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        },
    }


def serve(settings: Settings, options: ServeOptions) -> int:
    """Run granian in this process until it stops; the exit code of the main process."""
    from granian.constants import HTTPModes, Interfaces
    from granian.http import HTTP1Settings
    from granian.log import LogLevels
    from granian.server import MPServer

    host, port = check_port_free(options.bind, key="bind")
    if settings.metrics_bind:
        check_port_free(settings.metrics_bind, key="metrics_bind")
    prepare_metrics_folder(settings)
    os.environ[WORKER_OPTIONS] = json.dumps(asdict(options))
    listener: list[Any] = []
    server = MPServer(
        "broker.server:worker_app", address=host, port=port, interface=Interfaces.WSGI, factory=True,
        workers=options.workers, blocking_threads=options.threads, backlog=2048, http=HTTPModes.http1,
        websockets=False,
        # an idle kept-alive connection is closed once no request header came for this long
        http1_settings=HTTP1Settings(keep_alive=options.keepalive > 0,
                                     header_read_timeout=(options.keepalive or HEADER_SECONDS) * 1000),
        log_level=LogLevels(options.log_level), log_dictconfig=logging_config(options.log_level),
        log_access=options.access_log, log_access_format=ACCESS_FORMAT,
        respawn_failed_workers=True, workers_kill_timeout=options.graceful_timeout,
        workers_lifetime=options.max_lifetime or None)

    def start_listener() -> None:
        if settings.metrics_bind:
            listener.append(start_metrics_listener(settings))
            log.info("metrics on http://%s/metrics", settings.metrics_bind)

    server.on_startup(start_listener)
    try:
        server.serve()
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    finally:
        for running in listener:
            running.shutdown()
    return 0


def command(options: ServeOptions) -> list[str]:
    """The command line that serves with ``options`` in a fresh process (``python -m broker.server``).

    A fresh process, because the Prometheus client decides when ``broker.metrics`` is first
    imported whether the workers share their figures: the folder must be set before that.
    """
    argv = [sys.executable, "-m", "broker.server", "--bind", options.bind, "--workers", str(options.workers),
            "--threads", str(options.threads), "--keepalive", str(options.keepalive),
            "--timeout", str(options.timeout), "--graceful-timeout", str(options.graceful_timeout),
            "--max-lifetime", str(options.max_lifetime), "--log-level", options.log_level]
    if not options.access_log:
        argv.append("--no-access-log")
    return argv


def main(argv: list[str] | None = None) -> int:
    from .config import load_settings

    defaults = ServeOptions()
    parser = argparse.ArgumentParser(prog="broker serve", description="Serve Sésame under granian.")
    parser.add_argument("--bind", default=defaults.bind)
    parser.add_argument("--workers", type=int, default=defaults.workers)
    parser.add_argument("--threads", type=int, default=defaults.threads)
    parser.add_argument("--keepalive", type=int, default=defaults.keepalive)
    parser.add_argument("--timeout", type=int, default=defaults.timeout)
    parser.add_argument("--graceful-timeout", type=int, default=defaults.graceful_timeout)
    parser.add_argument("--max-lifetime", type=int, default=defaults.max_lifetime)
    parser.add_argument("--log-level", default=defaults.log_level, choices=("critical", "error", "warning", "info",
                                                                            "debug"))
    parser.add_argument("--no-access-log", dest="access_log", action="store_false")
    args = parser.parse_args(argv)
    options = ServeOptions(**{name: getattr(args, name) for name in (
        "bind", "workers", "threads", "keepalive", "timeout", "graceful_timeout", "max_lifetime",
        "log_level", "access_log")})
    if options.max_lifetime and options.max_lifetime < 60:
        parser.error("--max-lifetime: expected 0 or at least 60")
    try:
        return serve(load_settings(), options)
    except ConfigError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
