"""Fixtures that start real servers once per session and give each test a clean state.

- ``redis_server``: a private redis-server on a free port (Debian's binary).
- ``postgres_url``: a fresh PostgreSQL database when BROKER_TEST_DATABASE_URL is set or a
  server answers on 127.0.0.1:5432; tests using ``database_url`` then run on both.
- ``make_app`` / ``app`` / ``client``: a fresh broker per test on its own SQLite file.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

SECRET = "test-secret-key-with-enough-entropy-0123456789"
pytest_plugins = ["browser_fixtures"]
ROOT = Path(__file__).resolve().parent.parent


from support import free_port, reset_postgres, wait_for_port  # noqa: E402

# The tests never see the settings of a broker running on this machine (a demo's instance folder,
# an operator's BROKER_* variables): each test gives its own.
for _name in list(os.environ):
    if _name.startswith("BROKER_") and not _name.startswith(("BROKER_TEST_", "BROKER_BENCH_")):
        del os.environ[_name]


@pytest.fixture(autouse=True)
def _no_default_instance(tmp_path_factory, monkeypatch):
    """The default instance folder (``/var/lib/sesame``, ``~/.local/share/sesame``) is a scratch one."""
    from broker import config

    scratch = tmp_path_factory.getbasetemp() / "default-instance"
    monkeypatch.setattr(config, "SYSTEM_INSTANCE", scratch / "system")
    monkeypatch.setenv("XDG_DATA_HOME", str(scratch / "user"))


# -- Redis ---------------------------------------------------------------------------
@pytest.fixture(scope="session")
def redis_server():
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not os.path.exists(binary):
        pytest.skip("redis-server is not installed (Debian package redis-server)")
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="sesame-redis-")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", workdir, "--protected-mode", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        yield {"url": f"redis://127.0.0.1:{port}/0", "port": port, "process": proc, "dir": workdir}
    finally:
        proc.terminate()
        proc.wait(5)
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def redis_url(redis_server):
    import redis

    client = redis.Redis.from_url(redis_server["url"])
    client.flushall()
    client.close()
    return redis_server["url"]


# -- PostgreSQL ----------------------------------------------------------------------
def _postgres_admin_url() -> str | None:
    explicit = os.environ.get("BROKER_TEST_DATABASE_URL")
    if explicit:
        return explicit
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=0.5):
            pass
    except OSError:
        return None
    return "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@pytest.fixture(scope="session")
def postgres_url():
    """A fresh database on the PostgreSQL server, dropped after the session; None when none answers."""
    admin_url = _postgres_admin_url()
    if admin_url is None:
        yield None
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    if os.environ.get("BROKER_TEST_DATABASE_URL"):
        yield admin_url
        return
    name = f"sesame_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # server answers but refuses us: say so and go on with SQLite
        admin.dispose()
        print(f"PostgreSQL at {admin_url} refused to create a test database: {exc}")
        yield None
        return
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path, postgres_url):
    """Each test using it runs on SQLite and, when a server answers, on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'broker.db'}"
    if postgres_url is None:
        pytest.skip("no PostgreSQL server answers on 127.0.0.1:5432 and BROKER_TEST_DATABASE_URL is not set")
    reset_postgres(postgres_url)
    return postgres_url


# -- the broker ----------------------------------------------------------------------
@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory):
    """An upgraded SQLite database, copied for each test (migrations run once)."""
    from sqlalchemy import create_engine

    from broker.db.migrate import upgrade

    path = tmp_path_factory.mktemp("template") / "broker.db"
    engine = create_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture
def make_app(tmp_path, migrated_sqlite_template, monkeypatch):
    """Build a broker app; keyword overrides are settings. The SQLite database is ready.

    ``clock=``: the app's clock (a MovableClock the test moves; the system clock by default).
    """
    from broker.app import create_app
    from broker.db.migrate import upgrade

    for name in list(os.environ):
        if name.startswith("BROKER_") and not name.startswith(("BROKER_TEST_", "BROKER_BENCH_")):
            monkeypatch.delenv(name)
    monkeypatch.delenv("BROKER_CONFIG", raising=False)
    apps = []

    def factory(*, clock=None, **overrides):
        settings = {
            "secret_key": SECRET,
            "instance_path": str(tmp_path / "instance"),
            "log_json": True,
            "base_url": "http://localhost",
            # usage events written in their request, so a test reads them at once (the batched
            # default is tested in tests/test_usage_log.py and through gunicorn in tests/scale/)
            "stats_flush_ms": 0,
        }
        settings.update(overrides)
        db_url = settings.get("database_url")
        if not db_url:
            target = tmp_path / f"broker-{len(apps)}.db"
            shutil.copy(migrated_sqlite_template, target)
            settings["database_url"] = f"sqlite:///{target}"
        app = create_app(settings, clock=clock)
        if db_url:
            upgrade(app.extensions["broker"].db.engine)
        app.config["TESTING"] = True
        apps.append(app)
        return app

    yield factory
    for app in apps:
        app.extensions["broker"].close()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def movable_clock():
    """A clock the test moves forward (``advance(seconds)``) instead of sleeping."""
    from broker.testing import MovableClock

    return MovableClock()


@pytest.fixture
def clocked_app(make_app, movable_clock):
    """An app that reads ``movable_clock``; ``clocked_app.clock`` is that clock."""
    app = make_app(clock=movable_clock)
    app.clock = movable_clock
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runtime(app):
    return app.extensions["broker"]


@pytest.fixture
def session(runtime):
    with runtime.db.session() as s:
        yield s


# -- the CLI -------------------------------------------------------------------------
@pytest.fixture
def broker_cli(tmp_path, migrated_sqlite_template, monkeypatch):
    """Run ``broker`` commands in-process against a fresh SQLite instance; returns (exit code, output)."""
    from click.testing import CliRunner

    import broker.cli as cli_module
    from broker.cli import admin, instance_secrets, mail, network_admin, serving, system  # noqa: F401

    db = tmp_path / "cli.db"
    shutil.copy(migrated_sqlite_template, db)
    for name in list(os.environ):
        if name.startswith("BROKER_") and not name.startswith(("BROKER_TEST_", "BROKER_BENCH_")):
            monkeypatch.delenv(name)
    env = {"BROKER_SECRET_KEY": SECRET, "BROKER_DATABASE_URL": f"sqlite:///{db}",
           "BROKER_INSTANCE_PATH": str(tmp_path / "instance"), "BROKER_LOG_JSON": "true"}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    cli_module._attach_plugin_commands()

    class Result:
        def __init__(self, r):
            self.exit_code = r.exit_code
            self.output = r.output
            self.stdout = r.stdout
            self.stderr = r.stderr

        def json(self):
            import json

            return json.loads(self.stdout)

    def run(*args: str, input: str | None = None) -> Result:
        cli_module._APP = None
        runner = CliRunner()
        result = runner.invoke(cli_module.cli, list(args), input=input, catch_exceptions=False)
        if cli_module._APP is not None:
            cli_module._APP.extensions["broker"].close()
            cli_module._APP = None
        return Result(result)

    return run


# -- e-mail --------------------------------------------------------------------------
@pytest.fixture
def smtp_sink():
    """A real SMTP server (aiosmtpd) on a free port; ``.messages`` holds what it received."""
    from email import message_from_bytes, policy

    from aiosmtpd.controller import Controller

    import threading

    class Sink:
        def __init__(self):
            self.messages = []
            self.arrival = threading.Condition()

        async def handle_DATA(self, server, session, envelope):
            msg = message_from_bytes(envelope.content, policy=policy.default)
            with self.arrival:
                self.messages.append(msg)
                self.arrival.notify_all()
            return "250 OK"

        def wait_for(self, count: int, timeout: float = 60) -> bool:
            """Until ``count`` messages have arrived (woken by each arrival); False on timeout."""
            with self.arrival:
                return self.arrival.wait_for(lambda: len(self.messages) >= count, timeout)

    handler = Sink()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    handler.port = port
    handler.settings = {"smtp_host": "127.0.0.1", "smtp_port": port}
    try:
        yield handler
    finally:
        controller.stop()


# -- a populated network ---------------------------------------------------------------
@pytest.fixture(scope="session")
def sip2_emulator():
    """The project's SIP2 emulator over real TCP, serving the demo patrons (config/demo/sip2-patrons.csv)."""
    from broker.demo import DEMO_DIR, SIP2_LOGIN, SIP2_PASSWORD
    from broker.testing.sip2 import running_emulator

    with running_emulator(DEMO_DIR / "sip2-patrons.csv", login=SIP2_LOGIN, login_password=SIP2_PASSWORD) as emulator:
        yield emulator


def _demo_file(tmp_path_factory, migrated_sqlite_template, sip2_port: int):
    """The demo network loaded into a new SQLite file (keyed with SECRET, as make_app's apps are)."""
    from broker.config import load_settings
    from broker.demo import load_demo
    from broker.runtime import Runtime

    path = tmp_path_factory.mktemp("demo") / "demo.db"
    shutil.copy(migrated_sqlite_template, path)
    settings = load_settings({"secret_key": SECRET, "database_url": f"sqlite:///{path}",
                              "instance_path": str(path.parent)}, environ={})
    runtime = Runtime(settings)
    with runtime.db.session() as s:
        load_demo(runtime, s, sip2_port=sip2_port)
    runtime.close()
    return path


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory, migrated_sqlite_template, sip2_emulator):
    """The demo network loaded once into a SQLite file that each demo_app copies."""
    return _demo_file(tmp_path_factory, migrated_sqlite_template, sip2_emulator.port)


@pytest.fixture(scope="session")
def offline_demo_template(tmp_path_factory, migrated_sqlite_template):
    """The same, with its SIP2 libraries pointing at port 1, where nothing answers (SIGB "unavailable")."""
    return _demo_file(tmp_path_factory, migrated_sqlite_template, 1)


@pytest.fixture
def demo_app(make_app, smtp_sink, demo_template, tmp_path, movable_clock):
    """A broker with the demo network loaded; its SIP2 libraries talk to the SIP2 emulator.

    Its clock (``demo_app.clock``, the ``movable_clock`` fixture) follows the system clock until a test moves it.
    """
    target = tmp_path / "demo.db"
    shutil.copy(demo_template, target)
    app = make_app(database_url=f"sqlite:///{target}", clock=movable_clock, **smtp_sink.settings)
    app.smtp = smtp_sink
    app.clock = movable_clock
    return app
