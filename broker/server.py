"""``broker serve``: Sésame under gunicorn, as a service runs it.

The master process reads the settings once (a bad one stops the start with one
line and exit 2), checks that the ports it must listen on are free, prepares the
Prometheus multiprocess folder and, when ``metrics_bind`` is set, answers
``/metrics`` there for Prometheus. Each worker imports ``broker.wsgi:app`` after
the fork and runs the background jobs that must keep going in every node (the
mail outbox sender). Workers are recycled after ``max_requests`` requests, a
request that hangs longer than ``timeout`` seconds gets its worker replaced, and
``SIGHUP`` reloads the workers gracefully.
"""

from __future__ import annotations

import argparse
import errno
import os
import shutil
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import Settings, parse_bind
from .errors import ConfigError

DEFAULT_BIND = "127.0.0.1:5000"


def default_workers() -> int:
    """Two sync workers per core (at least two), as measured in docs/operations.md."""
    return max(2, (os.cpu_count() or 1) * 2)


@dataclass
class ServeOptions:
    bind: str = DEFAULT_BIND
    workers: int = field(default_factory=default_workers)
    timeout: int = 30
    graceful_timeout: int = 20
    max_requests: int = 20_000
    max_requests_jitter: int = 2_000
    access_log: bool = True
    log_level: str = "info"


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
        "worker_class": "sync",
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

    try:
        Sesame().run()
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    finally:
        for server in listener:
            server.shutdown()
    return 0



def command(options: ServeOptions) -> list[str]:
    """The command line that serves with ``options`` in a fresh process (``python -m broker.server``).

    A fresh process, because the Prometheus client decides when ``broker.metrics`` is first
    imported whether the workers share their figures: the folder must be set before that.
    """
    return [sys.executable, "-m", "broker.server", "--bind", options.bind, "--workers", str(options.workers),
            "--timeout", str(options.timeout)]


def main(argv: list[str] | None = None) -> int:
    from .config import load_settings

    parser = argparse.ArgumentParser(prog="broker serve", description="Serve Sésame under gunicorn.")
    parser.add_argument("--bind", default=DEFAULT_BIND)
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--timeout", type=int, default=30)
    args = parser.parse_args(argv)
    try:
        return serve(load_settings(), ServeOptions(bind=args.bind, workers=args.workers, timeout=args.timeout))
    except ConfigError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
