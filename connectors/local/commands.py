"""``broker patrons import``: bring a library's patron list into the local connector."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from broker.connector_kit import Progress, command, emit, json_option
from broker.errors import InvalidInput

from . import patrons as local_patrons

if TYPE_CHECKING:
    from broker.runtime import Runtime


@click.group()
def patrons() -> None:
    """Patrons kept in Sésame (local connector)."""


@patrons.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8-sig"))
@click.option("--library", required=True)
@json_option
@command
def import_command(runtime: Runtime, session, file, library, as_json):
    """Import card,name,birth_date,expires,pin[,email] rows; PINs are stored hashed (argon2id)."""
    try:
        text = file.read()
    except UnicodeDecodeError:
        raise InvalidInput("the file is not UTF-8 text") from None
    with Progress("Patrons", quiet=as_json) as progress:
        count = local_patrons.import_rows(runtime, session, library, local_patrons.parse(text), progress=progress)
    emit({"library": library, "imported": count}, as_json)
