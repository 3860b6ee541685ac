"""``broker secrets``: the instance secret's rotation."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from . import cli, emit, json_option, with_runtime

if TYPE_CHECKING:
    from ..runtime import Runtime


@cli.group("secrets")
def secrets_group() -> None:
    """The instance secret (BROKER_SECRET_KEYS: the new key first, then the old ones)."""


@secrets_group.command("rotate")
@click.option("--keep-unreadable", is_flag=True,
              help="Re-encrypt the rest when some stored secret opens with no listed key (it stays as it is).")
@json_option
@with_runtime
def secrets_rotate(runtime: Runtime, session, keep_unreadable, as_json):
    """Encrypt every stored secret again under the newest key; then the old keys may be removed.

    Exit 1, nothing written, when a stored secret opens with no key of BROKER_SECRET_KEYS.
    """
    from ..services.secret_rotation import rotate

    report = rotate(runtime, session, keep_unreadable=keep_unreadable)
    if as_json:
        emit(report.as_dict(), True)
        return
    click.echo(f"re-encrypted under the newest of {report.keys} key(s):")
    for table, count in report.reencrypted.items():
        click.echo(f"  {table}: {count}")
    for table, rows in report.unreadable.items():
        click.echo(f"  {table}: left as it was (no listed key decrypts it): {', '.join(rows)}")
