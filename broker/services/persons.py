"""One person, several library cards: linking, unlinking and the identity each supplier sees.

A card on its own keeps its pairwise identifiers (derived from its ``uid``).
Once linked, every card of a person gives, at each supplier sector, the
person's subject: the identifier one of its cards had there, the first card's
by default. When a card is linked:

- where only the new card had used a supplier, its identifier there is kept
  (its history stays with the person);
- where the person and the new card had both used it, the person's stays and
  the patron may choose the other one instead (:func:`choose`);
- elsewhere the first card's identifier is the person's.

Suppliers are never told of a link: they see one pairwise identifier, never a
card number. A card leaving a person (unlinked, or erased) takes its own
identifiers back; the person keeps the others. The subject of every person is
always the identifier of one of its current cards, so two people never share one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ..db.models import Library, Patron, Supplier, UsageEvent
from ..db.person_models import Person, PersonCard, PersonEvent, PersonSubject
from ..domain.identifiers import event_key

if TYPE_CHECKING:
    from ..runtime import Runtime


class LinkProblem(StrEnum):
    SAME_CARD = "same_card"
    #: the card belongs to another person: told as a wrong password (no enumeration)
    TAKEN = "taken"
    ALREADY = "already"
    LIMIT = "limit"
    NOT_REGISTERED = "not_registered"


class LinkError(Exception):
    def __init__(self, problem: LinkProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


@dataclass(frozen=True)
class Card:
    """One card of a person, as its pages show it (never the card number)."""

    patron_id: int
    uid: str
    library_id: int
    library_code: str
    library_name: str
    network: str
    network_name: str
    card_hint: str
    membership: str | None
    linked_at: datetime | None
    erased: bool


def person_of(session: Session, patron_id: int) -> int | None:
    return session.scalar(select(PersonCard.person_id).where(PersonCard.patron_id == patron_id))


def cards(session: Session, person_id: int) -> list[Card]:
    """The person's cards, in the order they were linked (the first card first)."""
    from ..db.models import Membership, Network, Partner

    rows = session.execute(
        select(Patron, PersonCard.linked_at, Library, Network, Membership.state)
        .join(PersonCard, PersonCard.patron_id == Patron.id)
        .join(Library, Library.id == Patron.library_id)
        .join(Partner, Partner.id == Library.partner_id)
        .join(Network, Network.id == Partner.network_id)
        .outerjoin(Membership, Membership.patron_id == Patron.id)
        .where(PersonCard.person_id == person_id)
        .order_by(PersonCard.linked_at, Patron.id)).all()
    return [Card(p.id, p.uid, lib.id, lib.code, lib.name, net.slug, net.name, p.card_hint, state, at,
                 p.erased_at is not None) for p, at, lib, net, state in rows]


def count_cards(session: Session, person_id: int | None) -> int:
    if person_id is None:
        return 1
    return session.scalar(select(func.count()).select_from(PersonCard).where(PersonCard.person_id == person_id)) or 0


# -- the identity suppliers see --------------------------------------------------------------
def subject_uid(runtime: Runtime, view, sector: str) -> str:
    """The ``uid`` whose pairwise identifier the card ``view`` gives at ``sector``.

    ``view``: a ``PatronView`` (the decision's), or a ``Patron`` row (the CLI, the admin preview).
    """
    person = _person_of_view(view)
    if person is None:
        return view.uid
    with runtime.db.session() as session:
        return subject_uid_in(session, person, sector) or view.uid


def _person_of_view(view) -> int | None:
    """The person a card belongs to, from a ``PatronView`` or a ``Patron`` row (None: a card alone)."""
    if hasattr(view, "person"):
        return view.person
    link = getattr(view, "person_card", None)
    return link.person_id if link is not None else None


def subject_for_uid(runtime: Runtime, uid: str, sector: str) -> str:
    """The pairwise identifier the card ``uid`` gives at ``sector`` (read from the database)."""
    from ..domain.identifiers import pairwise_id

    with runtime.db.session() as session:
        person_id = session.scalar(select(PersonCard.person_id).join(Patron, Patron.id == PersonCard.patron_id)
                                   .where(Patron.uid == uid))
        source = (subject_uid_in(session, person_id, sector) if person_id is not None else None) or uid
    return pairwise_id(runtime.keys.pairwise, source, sector)


def subject_uid_in(session: Session, person_id: int, sector: str) -> str | None:
    kept = session.scalar(select(Patron.uid).join(PersonSubject, PersonSubject.patron_id == Patron.id)
                          .where(PersonSubject.person_id == person_id, PersonSubject.sector == sector))
    if kept is not None:
        return kept
    return session.scalar(select(Patron.uid).join(Person, Person.seed_patron_id == Patron.id)
                          .where(Person.id == person_id))


def sector_of(supplier: Supplier) -> str:
    return (supplier.config or {}).get("sector") or supplier.slug


def used_sectors(runtime: Runtime, session: Session, uids: list[str]) -> dict[str, set[str]]:
    """Per uid, the supplier sectors where that card was granted access (from the usage events kept)."""
    runtime.usage.flush()  # this process's latest events too
    keys = {event_key(runtime.keys.statistics, uid): uid for uid in uids}
    sectors = {s.id: sector_of(s) for s in session.scalars(select(Supplier))}
    found: dict[str, set[str]] = {uid: set() for uid in uids}
    for key, supplier_id in session.execute(
            select(UsageEvent.patron_key, UsageEvent.supplier_id).distinct()
            .where(UsageEvent.patron_key.in_(list(keys)), UsageEvent.outcome == "granted")):
        if supplier_id in sectors:
            found[keys[key]].add(sectors[supplier_id])
    return found


# -- linking ---------------------------------------------------------------------------------
def _touch(session: Session, patron_ids: list[int], now: datetime) -> None:
    """Every process forgets its snapshot of these cards (``services.patron_changes``): changed at ``now``."""
    for patron in session.scalars(select(Patron).where(Patron.id.in_(patron_ids))):
        patron.updated_at = now


def _card_detail(session: Session, patron: Patron) -> dict[str, Any]:
    lib = session.get(Library, patron.library_id)
    return {"library": lib.code if lib else "", "card_last_characters": patron.card_hint}


def check_link(runtime: Runtime, session: Session, first: Patron, second: Patron) -> None:
    """Raise :class:`LinkError` when ``second`` may not join ``first``'s person."""
    if first.id == second.id:
        raise LinkError(LinkProblem.SAME_CARD)
    if second.erased_at is not None or second.membership is None:
        raise LinkError(LinkProblem.NOT_REGISTERED)
    mine = person_of(session, first.id)
    theirs = person_of(session, second.id)
    if theirs is not None:
        raise LinkError(LinkProblem.ALREADY if theirs == mine else LinkProblem.TAKEN)
    if count_cards(session, mine) + 1 > runtime.settings.cards_max_per_person:
        raise LinkError(LinkProblem.LIMIT)


def link(runtime: Runtime, session: Session, first: Patron, second: Patron, *, actor: str) -> int:
    """Link card ``second`` to ``first``'s person (created with ``first`` as its first card); the person's id."""
    check_link(runtime, session, first, second)
    now = runtime.clock.utcnow()
    person_id = person_of(session, first.id)
    if person_id is None:
        person = Person(seed_patron_id=first.id, created_at=now)
        session.add(person)
        session.flush()
        person_id = person.id
        session.add(PersonCard(patron_id=first.id, person_id=person_id, linked_at=now, linked_by=actor))
        session.add(PersonEvent(person_id=person_id, at=now, actor=actor, action="link", patron_id=first.id,
                                detail=_card_detail(session, first)))
    session.flush()
    members = [c.uid for c in cards(session, person_id)]
    used = used_sectors(runtime, session, members + [second.uid])
    person_used = set().union(*(used[uid] for uid in members)) if members else set()
    subjects = {row.sector: row for row in session.scalars(
        select(PersonSubject).where(PersonSubject.person_id == person_id))}
    seed = session.get(Person, person_id).seed_patron_id
    for sector in sorted(used[second.uid]):
        if sector not in person_used:  # only the new card had used it: its history stays
            session.add(PersonSubject(person_id=person_id, sector=sector, patron_id=second.id, chosen_at=now))
        elif sector in subjects:
            subjects[sector].contested = True
        else:  # both had: the person's stays, the patron may choose
            session.add(PersonSubject(person_id=person_id, sector=sector, patron_id=seed, contested=True,
                                      chosen_at=now))
    session.add(PersonCard(patron_id=second.id, person_id=person_id, linked_at=now, linked_by=actor))
    session.add(PersonEvent(person_id=person_id, at=now, actor=actor, action="link", patron_id=second.id,
                            detail=_card_detail(session, second)))
    session.flush()
    _touch(session, [first.id, second.id], now)
    return person_id


def unlink(runtime: Runtime | None, session: Session, patron: Patron, *, actor: str, record: bool = True,
           now: datetime | None = None) -> bool:
    """Take card ``patron`` out of its person (at ``now``, by default the runtime's); False when it was not linked.

    The card takes back its own identifiers; a person left with one card is dissolved.
    """
    person_id = person_of(session, patron.id)
    if person_id is None:
        return False
    now = now or runtime.clock.utcnow()
    members = cards(session, person_id)
    session.execute(delete(PersonCard).where(PersonCard.patron_id == patron.id))
    session.execute(delete(PersonSubject).where(PersonSubject.person_id == person_id,
                                                PersonSubject.patron_id == patron.id))
    remaining = [c for c in members if c.patron_id != patron.id]
    if len(remaining) <= 1:
        dissolve(session, person_id)
    else:
        person = session.get(Person, person_id)
        if person.seed_patron_id == patron.id:
            person.seed_patron_id = remaining[0].patron_id
        if record:
            session.add(PersonEvent(person_id=person_id, at=now, actor=actor, action="unlink",
                                    patron_id=patron.id, detail=_card_detail(session, patron)))
        else:  # an erased card leaves no trace in the person's history
            session.execute(delete(PersonEvent).where(PersonEvent.person_id == person_id,
                                                      PersonEvent.patron_id == patron.id))
    session.flush()
    _touch(session, [c.patron_id for c in members], now)
    return True


def dissolve(session: Session, person_id: int) -> None:
    for model in (PersonSubject, PersonEvent, PersonCard):
        session.execute(delete(model).where(model.person_id == person_id))
    session.execute(delete(Person).where(Person.id == person_id))


def forget(runtime: Runtime | None, session: Session, patron: Patron, now: datetime | None = None) -> None:
    """An erased card leaves its person (at ``now``), with its part of the person's history."""
    unlink(runtime, session, patron, actor="system", record=False, now=now)


# -- kept identities -------------------------------------------------------------------------
@dataclass(frozen=True)
class Choice:
    """A supplier sector where several cards of the person had a history: which one is kept."""

    sector: str
    suppliers: tuple[str, ...]
    kept_patron_id: int
    candidates: tuple[int, ...]
    chosen_by: str


def choices(runtime: Runtime, session: Session, person_id: int) -> list[Choice]:
    members = cards(session, person_id)
    used = used_sectors(runtime, session, [c.uid for c in members])
    names: dict[str, list[str]] = {}
    for s in session.scalars(select(Supplier).order_by(Supplier.name)):
        names.setdefault(sector_of(s), []).append(s.name)
    out = []
    for row in session.scalars(select(PersonSubject).where(PersonSubject.person_id == person_id,
                                                           PersonSubject.contested.is_(True))
                               .order_by(PersonSubject.sector)):
        candidates = tuple(c.patron_id for c in members if row.sector in used[c.uid] or c.patron_id == row.patron_id)
        out.append(Choice(row.sector, tuple(names.get(row.sector, [row.sector])), row.patron_id, candidates,
                          row.chosen_by))
    return out


def choose(runtime: Runtime, session: Session, person_id: int, sector: str, patron_id: int, *, actor: str) -> bool:
    """Keep card ``patron_id``'s identifier at ``sector``; False when that is not a choice offered."""
    row = session.get(PersonSubject, (person_id, sector))
    if row is None or not row.contested or person_of(session, patron_id) != person_id:
        return False
    offered = {c for choice in choices(runtime, session, person_id) if choice.sector == sector
               for c in choice.candidates}
    if patron_id not in offered:
        return False
    if row.patron_id != patron_id:
        row.patron_id, row.chosen_by, row.chosen_at = patron_id, "patron", runtime.clock.utcnow()
        patron = session.get(Patron, patron_id)
        session.add(PersonEvent(person_id=person_id, at=runtime.clock.utcnow(), actor=actor, action="keep", patron_id=patron_id,
                                detail={"sector": sector, **_card_detail(session, patron)}))
    return True


# -- privacy ---------------------------------------------------------------------------------
def _by(actor: str) -> str:
    if actor == "patron":
        return "patron"
    return "system" if actor in ("system", "demo", "cli", "test") else "library"


def export(runtime: Runtime, session: Session, patron: Patron) -> dict[str, Any] | None:
    """The person part of a patron's data export: the cards, the history, the identities kept."""
    person_id = person_of(session, patron.id)
    if person_id is None:
        return None
    members = cards(session, person_id)
    by_id = {c.patron_id: c for c in members}
    seed = session.get(Person, person_id).seed_patron_id

    def card(patron_id: int | None) -> dict[str, Any] | None:
        c = by_id.get(patron_id) if patron_id is not None else None
        return {"library": c.library_code, "card_last_characters": c.card_hint} if c else None

    return {
        "note": ("Your cards are linked: every supplier receives one pseudonymous identifier for you, whichever "
                 "card you use. Suppliers are never told your card numbers, nor that your cards are linked."),
        "cards": [{"library": c.library_code, "library_name": c.library_name, "network": c.network,
                   "card_last_characters": c.card_hint, "membership": c.membership,
                   "linked_at": c.linked_at.isoformat() if c.linked_at else None} for c in members],
        "identity_kept_by_default": card(seed),
        "identities_kept_per_supplier": [
            {"sector": row.sector, "card": card(row.patron_id), "several_cards_had_used_it": row.contested,
             "chosen_by": "patron" if row.chosen_by == "patron" else "automatically"}
            for row in session.scalars(select(PersonSubject).where(PersonSubject.person_id == person_id)
                                       .order_by(PersonSubject.sector))],
        "history": [{"at": e.at.isoformat(), "action": e.action, "by": _by(e.actor), **(e.detail or {})}
                    for e in session.scalars(select(PersonEvent).where(PersonEvent.person_id == person_id)
                                             .order_by(PersonEvent.id))],
    }

