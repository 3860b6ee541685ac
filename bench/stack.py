"""The whole benchmark stack in one object: databases, emulator, a loaded network, Sésame and the ceiling."""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path

from broker.server import ServeOptions
from broker.server import command as serve_command

from . import population
from .infra import SIP2_LOGIN, SIP2_PASSWORD, Gunicorn, Postgres, Redis, Sip2Emulator, free_port

SECRET = "bench-secret-key-" + "0123456789abcdef" * 2
#: Sésame's server: ``broker serve``'s defaults (threaded workers with keep-alive, the request watchdog), with
#: the benchmark's own timeouts as before (a worker's boot on a busy machine, a quick stop) and no recycling:
#: a worker replaced in the middle of a 20-second run would count its boot against the scenario, and the
#: memory figures follow the same workers across thousands of logins
SESAME = ServeOptions(timeout=60, graceful_timeout=5, max_lifetime=0)


def sesame_env(database_url: str, redis_url: str, base_url: str, instance: str, **extra: str) -> dict[str, str]:
    """The environment of a Sésame node (BROKER_* variables only, as an operator sets them)."""
    env = {"BROKER_DATABASE_URL": database_url, "BROKER_REDIS_URL": redis_url, "BROKER_SECRET_KEY": SECRET,
           "BROKER_BASE_URL": base_url, "BROKER_LOG_LEVEL": "WARNING", "BROKER_INSTANCE_PATH": instance,
           # a reverse proxy in front passes each patron's address: the per-IP login limit stays the default
           "BROKER_TRUST_PROXY": "1"}
    env.update(extra)
    return env


@dataclass
class SesameServer(Gunicorn):
    """Sésame as ``broker serve`` runs it: ``python -m broker.server`` with ``serve``'s options.

    So its worker class, threads, keep-alive and hooks (the request watchdog, the worker jobs,
    the metrics folder) are the ones in production; the log stays at warnings, without the
    access log, and the bind is this server's. ``broker serve`` empties the metrics folder at
    its start: unless the environment names one, each server gets its own.
    """

    serve: ServeOptions = field(default_factory=lambda: replace(SESAME))
    #: the access log on standard error (off in the benchmark)
    access_log: bool = False
    _metrics: str = ""

    def __post_init__(self) -> None:
        self.workers = self.serve.workers

    def command(self) -> list[str]:
        return serve_command(replace(self.serve, bind=f"127.0.0.1:{self.port}", log_level="warning",
                                     access_log=self.access_log))

    def start(self, *, wait: bool = True) -> SesameServer:
        if "PROMETHEUS_MULTIPROC_DIR" not in self.env and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
            self._metrics = tempfile.mkdtemp(prefix="sesame-metrics-")
            self.env = {**self.env, "PROMETHEUS_MULTIPROC_DIR": self._metrics}
        super().start(wait=wait)
        return self

    def stop(self) -> None:
        super().stop()
        if self._metrics:
            shutil.rmtree(self._metrics, ignore_errors=True)
            self.env = {k: v for k, v in self.env.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
            self._metrics = ""


def make_runtime(database_url: str, redis_url: str, base_url: str, instance: str):
    """A Runtime for loading data, built from explicit settings (the shell's BROKER_* ignored)."""
    from broker.config import load_settings
    from broker.runtime import Runtime

    settings = load_settings({"secret_key": SECRET, "database_url": database_url, "redis_url": redis_url,
                              "base_url": base_url, "instance_path": instance, "log_level": "WARNING"},
                             environ={}, config_file=os.devnull)
    return Runtime(settings)


@dataclass
class Stack:
    libraries: int
    patrons: int
    #: how Sésame is served (``SESAME`` unless given)
    serve: ServeOptions = field(default_factory=lambda: replace(SESAME))
    #: the ceiling app: gunicorn sync workers, 2 per core, a reference that does not move with Sésame's stack
    ceiling_workers: int = 2 * (os.cpu_count() or 1)
    pg: Postgres | None = None
    redis: Redis | None = None
    emulator: Sip2Emulator | None = None
    #: the last library's own SIGB, which the fault run silences (SIGSTOP)
    quiet: Sip2Emulator | None = None
    sesame: Gunicorn | None = None
    ceiling: Gunicorn | None = None
    loaded: population.Loaded | None = None
    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="sesame-bench-")))
    _exit: ExitStack = field(default_factory=ExitStack)

    def __enter__(self) -> Stack:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> None:
        from broker.db.migrate import upgrade

        self.pg = Postgres().start()
        self._exit.callback(self.pg.stop)
        self.redis = Redis().start()
        self._exit.callback(self.redis.stop)
        csv, pairs = population.write_patrons_csv(self.folder, self.patrons)
        self.emulator = Sip2Emulator(csv).start()
        self._exit.callback(self.emulator.stop)
        self.quiet = Sip2Emulator(csv).start()
        self._exit.callback(self.quiet.stop)

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        instance = str(self.folder / "instance")
        metrics = self.folder / "metrics"  # as an operator runs it: every worker's metrics in /metrics
        metrics.mkdir()
        runtime = make_runtime(self.pg.url, self.redis.url, base, instance)
        try:
            upgrade(runtime.db.engine)
            self.loaded = population.load(runtime, libraries=self.libraries, patrons=pairs,
                                          sip2_port=self.emulator.port, sip2_login=SIP2_LOGIN,
                                          sip2_password=SIP2_PASSWORD, last_library_port=self.quiet.port)
        finally:
            runtime.close()
        env = sesame_env(self.pg.url, self.redis.url, base, instance, PROMETHEUS_MULTIPROC_DIR=str(metrics))
        self.sesame = SesameServer("broker.wsgi:app", env, serve=self.serve, port=port).start(wait=False)
        self._exit.callback(lambda: self.sesame.stop() if self.sesame else None)  # whichever serves at the end
        self.ceiling = Gunicorn("bench.ceiling:app", {}, self.ceiling_workers).start(wait=False)
        self._exit.callback(self.ceiling.stop)
        self.sesame.wait()
        self.ceiling.wait()

    def replace_sesame(self, server: Gunicorn) -> None:
        """Serve Sésame with ``server`` (not started yet, on the same port) instead of the running one."""
        assert self.sesame is not None
        self.sesame.stop()
        self.sesame = server
        server.start()

    def restart_sesame(self) -> None:
        """Fresh workers (so that a measurement starts from a known RSS or empty caches)."""
        assert self.sesame is not None
        self.sesame.stop()
        self.sesame.start()

    def close(self) -> None:
        self._exit.close()
        shutil.rmtree(self.folder, ignore_errors=True)
