"""Commands for operators: schema, demo data, plugins, connectors, the SIP2 emulator."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..errors import BrokerError
from . import cli, emit, fail, get_app, json_option, with_runtime

if TYPE_CHECKING:
    from ..runtime import Runtime


@cli.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
@click.option("--revision", default="head")
def db_upgrade(revision: str) -> None:
    """Create or migrate the schema (idempotent)."""
    from ..db.migrate import current_revision, upgrade

    try:
        app = get_app()
    except BrokerError as exc:
        fail(exc)
    runtime = app.extensions["broker"]
    if runtime.db.is_sqlite:
        Path(runtime.settings.instance_path).mkdir(parents=True, exist_ok=True)
    upgrade(runtime.db.engine, revision)
    _store_instance_secrets(runtime)
    click.echo(f"database at revision {current_revision(runtime.db.engine)}")


def _store_instance_secrets(runtime: Runtime) -> None:
    """The instance's stable values are stored as soon as their table exists (see broker.instance_secrets)."""
    from .. import instance_secrets

    try:
        instance_secrets.prime(runtime.db, runtime.keys)
    except BrokerError as exc:
        fail(exc)


@cli.command("check-config")
def check_config() -> None:
    """Load the settings and report the first problem (exit 2), or print a summary."""
    from ..config import load_settings

    try:
        s = load_settings()
    except BrokerError as exc:
        fail(exc)
    click.echo(f"ok: base_url={s.base_url} database={s.effective_database_url.split('@')[-1]} "
               f"state={'redis' if s.redis_url else 'sql'} secret_keys={len(s.secret_keys)}")


@cli.group()
def plugins() -> None:
    """Installed plugins."""


@plugins.command("list")
@json_option
@with_runtime
def plugins_list(runtime: Runtime, session, as_json):
    """Plugins, the hooks they implement, connector types and protocols."""
    from ..plugins.manager import describe

    rows = describe(runtime.pm)
    if as_json:
        emit({"plugins": rows, "connectors": sorted(runtime.connector_specs),
              "providers": sorted(runtime.providers)}, True)
        return
    emit([{**r, "hooks": ",".join(r["hooks"])} for r in rows], False)
    click.echo(f"\nconnectors: {', '.join(sorted(runtime.connector_specs)) or '(none)'}")
    click.echo(f"protocols:  {', '.join(sorted(runtime.providers)) or '(none)'}")


@cli.group()
def connectors() -> None:
    """SIGB connectors."""


@connectors.command("check")
@click.argument("code")
@click.argument("card")
@click.option("--password", help="Check the card with this PIN/password (else a lookup without secret).")
@json_option
@with_runtime
def connectors_check(runtime: Runtime, session, code, card, password, as_json):
    """Ask a library's SIGB about a card; exit 1 with the precise reason when it fails."""
    from ..services.card_check import check_card
    from ..services.libraries import get_library

    result = check_card(runtime, get_library(session, code), card, password)
    emit(result, as_json)
    if not result["ok"]:
        sys.exit(1)


def _attach_emulator() -> None:
    try:
        from connectors.sip2.emulator import sip2_emulator_command
    except ImportError:  # pragma: no cover - the SIP2 connector is part of the distribution
        return
    cli.add_command(sip2_emulator_command, name="sip2-emulator")


_attach_emulator()
