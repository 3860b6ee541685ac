"""A logged-in patron links another of their library cards: proved like a login, then ``persons.link``.

The card is checked by its library's SIGB with the login's guards (rate limit
per IP, lockout per card). A card that belongs to someone else gets the answer
of a wrong password, so that nobody learns which cards are linked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from . import libraries, login, patrons, persons
from .access import load_patron
from .card_check import CardCheckFailure

if TYPE_CHECKING:
    from ..runtime import Runtime


class LinkOutcome(StrEnum):
    """How linking a card ended, besides the refusals of the card (:class:`CardCheckFailure`)."""

    LINKED = "linked"
    SAME_CARD = "same_card"
    ALREADY = "already"
    LIMIT = "limit"
    #: the logged-in patron's own account is gone (erased meanwhile)
    NO_ACCOUNT = "no_account"


@dataclass(frozen=True)
class LinkResult:
    outcome: LinkOutcome | CardCheckFailure
    errors: dict[str, str] = field(default_factory=dict, hash=False)
    card_hint: str = ""


def link_card(runtime: Runtime, uid: str, library_code: str | None, card: str | None, password: str | None, *,
              ip: str | None, actor: str = "patron") -> LinkResult:
    """Prove ``card`` of ``library_code`` with ``password`` and link it to the patron ``uid``'s person."""
    errors = login.check_fields(library_code, card, password)
    if errors:
        return LinkResult(CardCheckFailure.INVALID, errors)
    lib = runtime.libraries.by_code((library_code or "").strip())
    if lib is None:
        return LinkResult(CardCheckFailure.INVALID, {"library": "unknown"})
    answer = login.verify_card(runtime, lib, card, password, ip=ip)
    if answer.failure is not None:
        return LinkResult(answer.failure)
    with runtime.db.session() as session:
        first = load_patron(session, uid)
        if first is None or first.erased_at is not None:
            return LinkResult(LinkOutcome.NO_ACCOUNT)
        second = patrons.find(runtime, session, libraries.get_library(session, lib.code), card, history=False)
        if second is None:
            return LinkResult(CardCheckFailure.NOT_REGISTERED)
        patrons.refresh(second, answer.record, runtime.clock.today())
        try:
            persons.link(runtime, session, first, second, actor=actor)
        except persons.LinkError as exc:
            session.rollback()
            if exc.problem is persons.LinkProblem.TAKEN:
                login.record_failure(runtime, login.lockout_key(runtime, lib, card))
                return LinkResult(CardCheckFailure.CREDENTIALS)
            if exc.problem is persons.LinkProblem.NOT_REGISTERED:
                return LinkResult(CardCheckFailure.NOT_REGISTERED)
            return LinkResult(LinkOutcome(exc.problem.value))
        hint = second.card_hint
    return LinkResult(LinkOutcome.LINKED, card_hint=hint)
