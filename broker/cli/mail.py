"""``broker mail``: the outbox of outgoing e-mail and the SMTP server."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from ..errors import BrokerError, NotFound
from . import cli, emit, fail, get_app, json_option, with_runtime

if TYPE_CHECKING:
    from ..runtime import Runtime


@cli.group()
def mail() -> None:
    """Outgoing e-mail: the outbox and the SMTP server."""


def _runtime():
    try:
        return get_app().extensions["broker"]
    except BrokerError as exc:
        fail(exc)


@mail.command("send-pending")
@json_option
def send_pending(as_json: bool) -> None:
    """Send the e-mails that are due (for cron). Exit 0: all sent; 1: some not sent (retried later or failed)."""
    from sqlalchemy.exc import SQLAlchemyError

    from ..mail.outbox import send_pending as run

    runtime = _runtime()
    if not runtime.settings.smtp_host:
        click.echo("error: smtp_host: not set, e-mail is disabled", err=True)
        sys.exit(2)
    try:
        report = run(runtime)
    except SQLAlchemyError as exc:
        click.echo(f"error: database: {type(exc).__name__}", err=True)
        sys.exit(1)
    emit(report.as_dict(), as_json)
    sys.exit(0 if report.ok else 1)


@mail.command("check")
def check() -> None:
    """Connect to the SMTP server as a sending would (TLS, login); exit 2 naming the setting at fault."""
    from ..mail.smtp import check_connection

    runtime = _runtime()
    s = runtime.settings
    if not s.smtp_host:
        click.echo("error: smtp_host: not set, e-mail is disabled", err=True)
        sys.exit(2)
    try:
        check_connection(s)
    except BrokerError as exc:
        fail(exc)
    click.echo(f"ok: {s.smtp_host}:{s.smtp_port} tls={s.effective_smtp_tls}"
               f"{' login' if s.smtp_username else ''}")


@mail.command("failed")
@json_option
@with_runtime
def failed(runtime: Runtime, session, as_json: bool) -> None:
    """The e-mails given up after their attempts (no address shown)."""
    from sqlalchemy import select

    from ..db.mail_models import OutboxMessage

    rows = session.scalars(select(OutboxMessage).where(OutboxMessage.state == "failed").order_by(OutboxMessage.id))
    emit([{"id": r.id, "subject": r.subject, "attempts": r.attempts,
           "failed_at": r.failed_at.isoformat() if r.failed_at else "", "last_error": r.last_error} for r in rows],
         as_json, columns=["id", "failed_at", "attempts", "subject", "last_error"])


@mail.command("retry")
@click.argument("ids", nargs=-1, type=int)
@click.option("--all", "retry_all", is_flag=True, help="Every failed e-mail.")
@with_runtime
def retry(runtime: Runtime, session, ids: tuple[int, ...], retry_all: bool) -> None:
    """Put failed e-mails back in the outbox with fresh attempts (sent by the next run)."""
    from sqlalchemy import select

    from ..db.mail_models import OutboxMessage
    from ..mail.outbox import retry as put_back

    if retry_all:
        ids = tuple(session.scalars(select(OutboxMessage.id).where(OutboxMessage.state == "failed")))
    elif not ids:
        raise click.UsageError("name the e-mails to retry (ids from `broker mail failed`) or use --all")
    for message_id in ids:
        if put_back(session, message_id, clock=runtime.clock.utcnow) is None:
            raise NotFound(f"no failed e-mail {message_id}")
    click.echo(f"{len(ids)} e-mail(s) back in the outbox")
