"""Patrons as Sésame keeps them: found by a keyed digest of their card, never by the card itself."""

from __future__ import annotations

import secrets
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload

from ..db.models import Library, Membership, Patron
from ..domain.access import PatronFacts
from ..domain.identifiers import card_digest
from ..domain.memberships import MembershipState
from ..domain.patrons import PatronRecord, normalize_card
from .patron_changes import PatronView

if TYPE_CHECKING:
    from ..runtime import Runtime


def digest_for(runtime: Runtime, lib: Library, card: str) -> tuple[str, str]:
    """(digest, hint) of a card typed for ``lib``."""
    normal = normalize_card(card, case=lib.card_case)
    return card_digest(runtime.keys.cards, lib.code, normal), normal[-4:]


def _by_card(history: bool):
    membership = joinedload(Patron.membership)
    return select(Patron).where(Patron.library_id == bindparam("library_id"),
                                Patron.card_digest == bindparam("digest")).options(
        membership.selectinload(Membership.history) if history else membership)


#: built once: SQLAlchemy keys its compiled-statement cache on the statement, which is then computed once too
_BY_CARD = {True: _by_card(True), False: _by_card(False)}


def find(runtime: Runtime, session: Session, lib: Library, card: str, *, history: bool = True) -> Patron | None:
    """The patron holding ``card`` at ``lib``, with its membership (and the membership's history)."""
    digest, _ = digest_for(runtime, lib, card)
    return session.scalar(_BY_CARD[history], {"library_id": lib.id, "digest": digest})


def upsert(runtime: Runtime, session: Session, lib: Library, card: str, record: PatronRecord | None) -> Patron:
    """The patron for this card, created if new, refreshed from what the SIGB said."""
    patron = find(runtime, session, lib, card)
    if patron is None:
        digest, hint = digest_for(runtime, lib, card)
        patron = Patron(uid=secrets.token_hex(16), library_id=lib.id, card_digest=digest, card_hint=hint)
        session.add(patron)
    if record is not None:
        refresh(patron, record, runtime.clock.today())
    patron.erased_at = None
    return patron


def refresh(patron: Patron, record: PatronRecord, today: date) -> None:
    """The patron's row from what the SIGB says of the card (judged on ``today``)."""
    patron.display_name = record.name or patron.display_name
    if record.email and not patron.email:
        patron.email = record.email
    patron.birth_year = record.birth_year or patron.birth_year
    patron.category = record.category or patron.category
    patron.card_expires = record.expires
    problem = record.card_problem(today)
    patron.card_problem = problem.value if problem else None


def facts(patron: PatronView, today: date) -> PatronFacts:
    from ..domain.patrons import CardProblem

    problem = CardProblem(patron.card_problem) if patron.card_problem else None
    if problem is None and patron.card_expires is not None and patron.card_expires < today:
        problem = CardProblem.EXPIRED
    state = patron.membership
    return PatronFacts(uid=patron.uid, membership=MembershipState(state) if state else None,
                       card_problem=problem, birth_year=patron.birth_year)


def erase(patron: Patron, now: datetime) -> None:
    """Remove personal data (at ``now``); the uid stays so pseudonymous statistics keep their counts.

    A card linked to others leaves its person (``services.persons.forget``).
    """
    from sqlalchemy.orm import object_session

    from . import persons

    session = object_session(patron)
    if session is not None and patron.id is not None:
        persons.forget(None, session, patron, now)
    patron.display_name = None
    patron.email = None
    patron.birth_year = None
    patron.category = None
    patron.card_expires = None
    patron.card_problem = None
    patron.card_digest = f"erased:{patron.uid}"
    patron.card_hint = ""
    patron.erased_at = now
