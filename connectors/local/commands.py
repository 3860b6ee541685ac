"""``broker patrons import``: bring a library's patron list into the local connector."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from broker.connector_kit import library_import

from . import patrons as local_patrons

if TYPE_CHECKING:
    from broker.runtime import Runtime


@click.group()
def patrons() -> None:
    """Patrons kept in Sésame (local connector)."""


@patrons.command("import")
@library_import("Patrons")
def import_command(runtime: Runtime, session, library, text, progress) -> int:
    """Import card,name,birth_date,expires,pin[,email] rows; PINs are stored hashed (argon2id)."""
    return local_patrons.import_rows(runtime, session, library, local_patrons.parse(text), progress=progress)
