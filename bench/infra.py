"""The servers a benchmark (or a scale test) runs against: PostgreSQL, Redis, Sésame's server and gunicorn, the SIP2 emulator.

Each is a small object with ``start()``/``stop()`` that owns its process and
temporary folder. PostgreSQL and Redis come from the ``BROKER_BENCH_*`` URLs
when set; otherwise private servers are started from the Debian binaries.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from broker.testing.net import free_port, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
PG_BIN = Path("/usr/lib/postgresql/15/bin")
SHARED_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def wait_http(url: str, timeout: float = 30.0, process=None) -> None:
    """Wait until ``url`` answers 200 (the server imports the app in its workers first)."""
    import urllib.request

    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server for {url} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except Exception as exc:  # not up yet
            last = exc
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer 200 within {timeout}s ({last})")


def _stop(process: subprocess.Popen | None, timeout: float = 10.0) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


# -- PostgreSQL ------------------------------------------------------------------------------
@dataclass
class Postgres:
    """A database for one run: the given URL, a private server, or a fresh database on the shared one."""

    url: str = ""
    kind: str = ""
    tuning: dict[str, str] = field(default_factory=dict)
    _dir: str | None = None
    _port: int = 0
    _admin_url: str = ""
    _dbname: str = ""

    def start(self) -> Postgres:
        explicit = os.environ.get("BROKER_BENCH_DATABASE_URL")
        if explicit:
            self.url, self.kind = explicit, "given by BROKER_BENCH_DATABASE_URL"
            return self
        problem = self._start_private()
        if problem is None:
            return self
        self._fresh_on_shared(problem)
        return self

    def _start_private(self) -> str | None:
        """Start a private server as the ``postgres`` system user; returns why not, or None."""
        if not (PG_BIN / "initdb").exists():
            return "PostgreSQL 15 binaries not found"
        folder = tempfile.mkdtemp(prefix="sesame-bench-pg-")
        run_as: list[str] = []
        if os.geteuid() == 0:  # initdb refuses root: run the server as the postgres system user
            if shutil.which("runuser") is None:
                return "running as root without runuser"
            try:
                shutil.chown(folder, user="postgres")
            except (LookupError, PermissionError) as exc:
                return f"cannot hand a folder to the postgres user ({exc})"
            run_as = ["runuser", "-u", "postgres", "--"]
        data = os.path.join(folder, "data")
        init = subprocess.run(run_as + [str(PG_BIN / "initdb"), "-D", data, "-A", "trust", "-U", "postgres",
                                        "-E", "UTF8", "--no-sync"], capture_output=True, text=True)
        if init.returncode != 0:
            shutil.rmtree(folder, ignore_errors=True)
            return f"initdb failed: {init.stderr.strip()[:200]}"
        self._port = free_port()
        self.tuning = {"shared_buffers": "256MB", "max_connections": "300", "listen_addresses": "127.0.0.1"}
        options = " ".join(f"-c {k}={v}" for k, v in self.tuning.items())
        start = subprocess.run(run_as + [str(PG_BIN / "pg_ctl"), "-D", data, "-l", os.path.join(folder, "log"),
                                         "-o", f"-p {self._port} -k {folder} {options}", "-w", "start"],
                               capture_output=True, text=True)
        if start.returncode != 0:
            shutil.rmtree(folder, ignore_errors=True)
            return f"pg_ctl start failed: {start.stderr.strip()[:200]}"
        self._dir, self._run_as = folder, run_as
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self._port}/postgres"
        self.kind = "private PostgreSQL 15 server (fsync on, shared_buffers 256MB)"
        return None

    def _fresh_on_shared(self, why: str) -> None:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        self._admin_url = SHARED_PG
        self._dbname = f"sesame_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(self._admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self._dbname}"'))
        admin.dispose()
        self.url = make_url(self._admin_url).set(database=self._dbname).render_as_string(hide_password=False)
        self.kind = f"fresh database on the machine's PostgreSQL at 127.0.0.1:5432 ({why})"

    def restart(self) -> None:
        """Stop and start the private server (fault tests); the data stays."""
        if not self._dir:
            raise RuntimeError("only a private PostgreSQL can be restarted")
        self.stop_server()
        self.start_server()

    def stop_server(self, mode: str = "fast") -> None:
        subprocess.run(self._run_as + [str(PG_BIN / "pg_ctl"), "-D", os.path.join(self._dir, "data"), "-m", mode,
                                       "-w", "stop"], capture_output=True)

    def start_server(self) -> None:
        options = " ".join(f"-c {k}={v}" for k, v in self.tuning.items())
        subprocess.run(self._run_as + [str(PG_BIN / "pg_ctl"), "-D", os.path.join(self._dir, "data"), "-l",
                                       os.path.join(self._dir, "log"), "-o", f"-p {self._port} -k {self._dir} {options}",
                                       "-w", "start"], capture_output=True, check=True)

    @property
    def private(self) -> bool:
        return self._dir is not None

    def stop(self) -> None:
        if self._dir:
            self.stop_server("immediate")  # the data is thrown away: no checkpoint to wait for
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
        elif self._dbname:
            from sqlalchemy import create_engine, text

            admin = create_engine(self._admin_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self._dbname}" WITH (FORCE)'))
            admin.dispose()
            self._dbname = ""


# -- Redis -----------------------------------------------------------------------------------
@dataclass
class Redis:
    url: str = ""
    kind: str = ""
    port: int = 0
    process: subprocess.Popen | None = None
    _dir: str | None = None

    def start(self) -> Redis:
        explicit = os.environ.get("BROKER_BENCH_REDIS_URL")
        if explicit:
            self.url, self.kind = explicit, "given by BROKER_BENCH_REDIS_URL"
            return self
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self._dir = tempfile.mkdtemp(prefix="sesame-bench-redis-")
        self.port = self.port or free_port()
        self.start_server(binary)
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.kind = "private redis-server (no persistence)"
        return self

    def start_server(self, binary: str | None = None) -> None:
        binary = binary or shutil.which("redis-server") or "/usr/bin/redis-server"
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self._dir, "--protected-mode", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port, timeout=20.0, process=self.process)

    def stop_server(self) -> None:
        _stop(self.process)
        self.process = None

    def version(self) -> str:
        import redis

        client = redis.Redis.from_url(self.url)
        try:
            return client.info("server")["redis_version"]
        finally:
            client.close()

    def stop(self) -> None:
        self.stop_server()
        if self._dir:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None


# -- gunicorn --------------------------------------------------------------------------------
#: how long a server may take to answer after its start (its workers import the app; minutes on a loaded machine)
BOOT_SECONDS = 180.0


@dataclass
class Gunicorn:
    """``gunicorn <app>`` on a free port with ``workers`` sync workers (or ``threads`` each) and the given environment.

    ``command()`` is what runs; bench/stack.py's ``SesameServer`` runs Sésame as ``broker serve`` does.
    """

    app: str
    env: dict[str, str]
    workers: int = 2 * (os.cpu_count() or 1)
    port: int = 0
    #: threaded workers (gthread, keep-alive 5 s) with this many threads each; 0: sync workers
    threads: int = 0
    ready_path: str = "/healthz"
    cwd: Path = ROOT
    process: subprocess.Popen | None = None
    log: str = ""

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, wait: bool = True) -> Gunicorn:
        self.port = self.port or free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("BROKER_")}
        env.update(self.env)
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        handle, self.log = tempfile.mkstemp(prefix="sesame-gunicorn-", suffix=".log")
        self.process = subprocess.Popen(self.command(), cwd=str(self.cwd), env=env, stdout=handle, stderr=handle,
                                        start_new_session=True)
        os.close(handle)
        if wait:
            try:
                self.wait()
            except BaseException:
                self.kill()  # a server that never answered is not left running
                raise
        return self

    def command(self) -> list[str]:
        """The server's command line, bound to ``self.port``."""
        return [str(Path(sys.executable).parent / "gunicorn"), self.app, "--bind", f"127.0.0.1:{self.port}",
                "--workers", str(self.workers), "--backlog", "2048", "--timeout", "60", "--graceful-timeout", "5",
                "--log-level", "warning",
                *(("--worker-class", "gthread", "--threads", str(self.threads), "--keep-alive", "5") if self.threads
                  else ())]

    def wait(self) -> None:
        """Until the app answers (gunicorn imports it in each worker first: slow on a busy machine)."""
        wait_http(self.base + self.ready_path, timeout=BOOT_SECONDS, process=self.process)

    def worker_pids(self) -> list[int]:
        import psutil

        if self.process is None:
            return []
        return [c.pid for c in psutil.Process(self.process.pid).children()]

    def kill(self) -> None:
        """SIGKILL the master and its workers at once (a node lost, not a shutdown)."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(5)
        self.process = None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(Path(self.log).read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # quick shutdown: no request is left to finish
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process = None
        if self.log:
            try:
                os.unlink(self.log)
            except OSError:
                pass


# -- the SIP2 emulator -------------------------------------------------------------------------
SIP2_LOGIN = "bench"
SIP2_PASSWORD = "bench"


@dataclass
class Sip2Emulator:
    """``broker sip2-emulator`` in its own process on a free port."""

    patrons_csv: Path
    delay_ms: int = 0
    port: int = 0
    process: subprocess.Popen | None = None

    def start(self) -> Sip2Emulator:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "connectors.sip2.emulator", "--port", str(self.port), "--patrons",
             str(self.patrons_csv), "--login", SIP2_LOGIN, "--login-password", SIP2_PASSWORD,
             "--delay-ms", str(self.delay_ms)], stdout=subprocess.PIPE, text=True, cwd=str(ROOT))
        banner = self.process.stdout.readline() if self.process.stdout else ""
        match = re.search(r":(\d+) ", banner)
        if not match:
            _stop(self.process)
            raise RuntimeError(f"the SIP2 emulator did not start: {banner!r}")
        self.port = int(match.group(1))
        return self

    def stop(self) -> None:
        _stop(self.process)
        self.process = None
