"""``broker serve`` (the production server) and ``broker demo`` (the demo network, and serving it)."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

import click

from ..errors import BrokerError, ConfigError
from ..server import (
    DEFAULT_BIND,
    DEFAULT_KEEPALIVE,
    DEFAULT_THREADS,
    ServeOptions,
    check_port_free,
    command,
    default_workers,
)
from . import cli, emit, fail, get_app, json_option


def _load_settings():
    from ..config import load_settings

    try:
        return load_settings()
    except BrokerError as exc:
        fail(exc)


def _options(bind: str, workers: int | None, timeout: int, threads: int = DEFAULT_THREADS,
             keepalive: int = DEFAULT_KEEPALIVE) -> ServeOptions:
    from ..config import parse_bind

    try:
        parse_bind(bind, key="--bind")
    except ConfigError as exc:
        fail(exc)
    for key, value, least in (("--workers", workers, 1), ("--threads", threads, 1), ("--timeout", timeout, 1),
                              ("--keepalive", keepalive, 0)):
        if value is not None and value < least:
            fail(ConfigError(key, f"expected at least {least}"))
    return ServeOptions(bind=bind, workers=workers or default_workers(), threads=threads, keepalive=keepalive,
                        timeout=timeout)


def _check_mail(settings) -> None:
    """An SMTP server that cannot be reached, or not as configured, stops the start (one line, exit 2)."""
    from ..mail.smtp import check_connection

    try:
        check_connection(settings)
    except ConfigError as exc:
        fail(exc)


def _check_ports(settings, options: ServeOptions) -> None:
    try:
        check_port_free(options.bind, key="--bind")
        if settings.metrics_bind:
            check_port_free(settings.metrics_bind, key="metrics_bind")
    except ConfigError as exc:
        fail(exc)


def _check_instance_secrets(settings) -> None:
    """A key list that no longer opens the instance's stored values stops here, not in every worker."""
    from .. import instance_secrets

    try:
        instance_secrets.check_at_start(settings)
    except BrokerError as exc:
        fail(exc)


@cli.command("serve")
@click.option("--bind", default=DEFAULT_BIND, show_default=True, help="HOST:PORT to listen on.")
@click.option("--workers", type=int, help="Worker processes (default: 1 per core, at least 2).")
@click.option("--threads", default=DEFAULT_THREADS, show_default=True, help="Requests each worker answers at once.")
@click.option("--keepalive", default=DEFAULT_KEEPALIVE, show_default=True,
              help="Seconds a client's connection stays open for its next request (0: close after each).")
@click.option("--timeout", default=30, show_default=True, help="Seconds before a hung request's worker is replaced.")
def serve_command(bind: str, workers: int | None, threads: int, keepalive: int, timeout: int) -> None:
    """Serve Sésame (granian: workers × threads); SIGHUP reloads the workers, SIGTERM stops."""
    settings = _load_settings()
    options = _options(bind, workers, timeout, threads, keepalive)
    _check_ports(settings, options)
    _check_instance_secrets(settings)
    _check_mail(settings)
    argv = command(options)
    sys.stdout.flush()
    os.execv(argv[0], argv)


# -- the demo ----------------------------------------------------------------------------------
def _public_url(bind: str) -> str:
    host, _, port = bind.rpartition(":")
    host = host.strip("[]")
    if host in {"0.0.0.0", "::", ""}:
        host = "127.0.0.1"
    return f"http://{'[' + host + ']' if ':' in host else host}:{port}"


def prepare_demo_instance(bind: str, smtp_port: int) -> Path:
    """The demo's instance folder with a config file holding its own secret (written once).

    What depends on how the demo is started this time (its URL, the mailbox's port) is given
    through the environment at every start, never kept in the file, so ``--bind`` may change.
    """
    from ..config import default_instance_path

    instance = default_instance_path()
    instance.mkdir(parents=True, exist_ok=True)
    config = instance / "broker.toml"
    if not os.environ.get("BROKER_CONFIG") and not config.exists():
        config.write_text(
            "# Written by `broker demo` for the demo instance. See config/broker.example.toml for every key.\n"
            f'secret_key = "{secrets.token_urlsafe(48)}"\n'
            "demo = true\nlog_json = false\n", encoding="utf-8")
        config.chmod(0o600)
    os.environ["BROKER_INSTANCE_PATH"] = str(instance)
    os.environ.setdefault("BROKER_BASE_URL", _public_url(bind))
    os.environ.setdefault("BROKER_DEMO", "true")
    os.environ.setdefault("BROKER_SMTP_HOST", "127.0.0.1")
    os.environ.setdefault("BROKER_SMTP_PORT", str(smtp_port))
    return instance


def _exit_on_sigterm(signum, frame) -> None:
    raise SystemExit(0)  # the finally clause below stops the server and the helpers


@cli.command("demo")
@click.option("--sip2-port", default=6001, show_default=True, help="Port of the demo SIP2 emulator.")
@click.option("--smtp-port", default=8025, show_default=True, help="Port of the demo mailbox (--serve).")
@click.option("--serve", "then_serve", is_flag=True,
              help="Then serve the demo: SIP2 emulator, mailbox and Sésame, until interrupted.")
@click.option("--bind", default=DEFAULT_BIND, show_default=True, help="HOST:PORT to serve on (--serve).")
@click.option("--workers", type=int, help="Worker processes (default: 1 per core, at least 2).")
@json_option
def demo(sip2_port: int, smtp_port: int, then_serve: bool, bind: str, workers: int | None, as_json: bool) -> None:
    """Load the demo network once (refreshing what depends on its ports and URL); --serve runs it.

    The demo suppliers (SAML, OIDC, CAS) are registered for base_url when demo is true, and follow it
    when it changes.
    """
    from ..db.migrate import upgrade
    from ..demo import DEMO_DIR, SIP2_LOGIN, SIP2_PASSWORD, load_demo, register_demo_suppliers

    options = _options(bind, workers, 30)
    instance = prepare_demo_instance(bind, smtp_port) if then_serve else None
    try:
        app = get_app()
        runtime = app.extensions["broker"]
        if runtime.db.is_sqlite:
            Path(runtime.settings.instance_path).mkdir(parents=True, exist_ok=True)
        upgrade(runtime.db.engine)
        with app.app_context(), runtime.db.session() as session:
            summary = load_demo(runtime, session, sip2_port=sip2_port)
            summary["demo_suppliers"] = register_demo_suppliers(runtime, session)
        settings = runtime.settings
        runtime.close()
    except BrokerError as exc:
        fail(exc)
    if not then_serve:
        emit(summary, as_json)
        return
    assert instance is not None
    _check_ports(settings, options)
    try:
        for port, key in ((sip2_port, "--sip2-port"), (smtp_port, "--smtp-port")):
            check_port_free(f"127.0.0.1:{port}", key=key)
    except ConfigError as exc:
        fail(exc)
    mail_log = instance / "mail.log"
    helpers = [
        subprocess.Popen([sys.executable, "-m", "broker.cli", "sip2-emulator", "--host", "127.0.0.1",
                          "--port", str(sip2_port), "--patrons", str(DEMO_DIR / "sip2-patrons.csv"),
                          "--login", SIP2_LOGIN, "--login-password", SIP2_PASSWORD],
                         stdout=open(instance / "sip2-emulator.log", "ab"), stderr=subprocess.STDOUT),
        subprocess.Popen([sys.executable, "-m", "broker.demo_mailbox", "--port", str(smtp_port),
                          "--file", str(mail_log)],
                         stdout=open(instance / "mailbox.log", "ab"), stderr=subprocess.STDOUT),
    ]
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        banner = (DEMO_DIR / "banner.txt").read_text(encoding="utf-8")
        click.echo(banner.format(base=settings.base_url.rstrip("/"), mail_log=mail_log, instance=instance))
        sys.stdout.flush()
        server = subprocess.Popen(command(options))
        helpers.insert(0, server)
        code = server.wait()
        sys.exit(code)
    finally:
        for helper in helpers:
            helper.terminate()
        for helper in helpers:
            try:
                helper.wait(10)
            except subprocess.TimeoutExpired:
                helper.kill()
