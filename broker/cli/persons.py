"""``broker patrons link`` and ``unlink``: one person's library cards, for an operator."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ..services import person_admin
from . import cli, emit, json_option, with_runtime

if TYPE_CHECKING:
    from ..runtime import Runtime


@cli.group()
def patrons() -> None:
    """Patrons: link the library cards of one person (suppliers then see one identity)."""


@patrons.command("link")
@click.argument("code_a")
@click.argument("card_a")
@click.argument("code_b")
@click.argument("card_b")
@click.option("--by", "actor", default="cli", help="Who makes the change (recorded in the audit log).")
@json_option
@with_runtime
def patrons_link(runtime: Runtime, session, code_a, card_a, code_b, card_b, actor, as_json):
    """Link card B (library CODE_B) to card A's person: A's identifiers at suppliers stay the person's."""
    result = person_admin.link(runtime, session, code_a, card_a, code_b, card_b, actor=actor)
    _show(result, as_json)


@patrons.command("unlink")
@click.argument("code")
@click.argument("card")
@click.option("--by", "actor", default="cli", help="Who makes the change (recorded in the audit log).")
@json_option
@with_runtime
def patrons_unlink(runtime: Runtime, session, code, card, actor, as_json):
    """Take a card out of its person: it works on its own again, with its own identifiers."""
    result = person_admin.unlink(runtime, session, code, card, actor=actor)
    _show(result, as_json)


def _show(result, as_json: bool) -> None:
    if as_json:
        emit(result.as_dict(), True)
    else:
        emit(result.cards, False, columns=["library", "card_last_characters", "membership"])
