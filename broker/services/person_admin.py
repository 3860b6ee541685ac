"""Linking and unlinking cards for a patron, by staff or an operator (CLI, API, staff pages): audited.

The cards are named by library code and card number (found by keyed digest,
never stored); the staff member has checked both cards with the patron.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from ..db.models import Patron
from ..errors import Conflict, InvalidInput, NotFound
from . import audit, patrons, persons
from .libraries import get_library

if TYPE_CHECKING:
    from ..runtime import Runtime

_PROBLEMS = {
    persons.LinkProblem.SAME_CARD: "the two cards are the same card",
    persons.LinkProblem.TAKEN: "the second card is already linked to another person",
    persons.LinkProblem.ALREADY: "the two cards are already linked",
    persons.LinkProblem.LIMIT: "that person already has the most cards allowed (cards_max_per_person)",
    persons.LinkProblem.NOT_REGISTERED: "the second card has no membership: register it first",
}


@dataclass(frozen=True)
class LinkedCards:
    person: int | None
    cards: list[dict[str, str]]

    def as_dict(self) -> dict:
        return {"person": self.person, "cards": self.cards}


def find_card(runtime: Runtime, session: Session, library_code: str, card: str) -> Patron:
    lib = get_library(session, (library_code or "").strip())
    if not (card or "").strip():
        raise InvalidInput("a card number is required", code="card_required")
    patron = patrons.find(runtime, session, lib, card, history=False)
    if patron is None or patron.erased_at is not None:
        raise NotFound(f"no patron with this card at library '{lib.code}'", code="unknown_patron")
    return patron


def _summary(session: Session, patron: Patron) -> LinkedCards:
    person_id = persons.person_of(session, patron.id)
    if person_id is None:
        lib = patron.library
        return LinkedCards(None, [{"library": lib.code, "card_last_characters": patron.card_hint}])
    return LinkedCards(person_id, [{"library": c.library_code, "card_last_characters": c.card_hint,
                                    "membership": c.membership or ""}
                                   for c in persons.cards(session, person_id) if not c.erased])


def _target(patron: Patron) -> str:
    return f"{patron.library.code}/{patron.card_hint}"


def link(runtime: Runtime, session: Session, code_a: str, card_a: str, code_b: str, card_b: str, *,
         actor: str) -> LinkedCards:
    """Link card B to card A's person (A's identifiers stay the person's); InvalidInput/Conflict, nothing written."""
    first = find_card(runtime, session, code_a, card_a)
    second = find_card(runtime, session, code_b, card_b)
    try:
        persons.link(runtime, session, first, second, actor=actor)
    except persons.LinkError as exc:
        session.rollback()
        audit.record_now(runtime, actor, "person.link", _target(first), outcome="refused", problem=exc.problem.value)
        raise Conflict(_PROBLEMS[exc.problem], code=exc.problem.value) from None
    audit.record(runtime, session, actor, "person.link", _target(first), card=_target(second))
    return _summary(session, first)


def unlink(runtime: Runtime, session: Session, code: str, card: str, *, actor: str) -> LinkedCards:
    patron = find_card(runtime, session, code, card)
    if not persons.unlink(runtime, session, patron, actor=actor):
        raise Conflict("this card is not linked to other cards", code="not_linked")
    audit.record(runtime, session, actor, "person.unlink", _target(patron))
    return _summary(session, patron)


def other_cards(session: Session, patron_id: int) -> int:
    """How many other cards the person of this card has (all a referent may know of them)."""
    person_id = persons.person_of(session, patron_id)
    return 0 if person_id is None else max(0, persons.count_cards(session, person_id) - 1)
