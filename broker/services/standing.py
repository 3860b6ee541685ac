"""Where a patron stands today, before any supplier: may they use the resources, and if not, why.

The home page and the account page show it, and the catalogue's buttons say
what a click will do. It applies the access decision's rules that do not
depend on a supplier (card, membership, partner agreement) in the same order,
so the pages never promise what ``/go`` would then refuse. A referent's reason
for a refusal or a suspension comes with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.models import Membership, MembershipEvent, Patron
from ..domain import access as rules
from ..domain.memberships import MembershipState, Transition
from ..domain.patrons import CardProblem
from .network import partner_active

#: actors that are not a person: their "reason" is a technical note, never shown to a patron
MACHINE_ACTORS = frozenset({"system", "demo", "cli", "patron"})
#: the transitions whose reason a referent writes for the patron
NOTED = {MembershipState.REFUSED: Transition.REFUSE, MembershipState.SUSPENDED: Transition.SUSPEND}
NOTED_STATE = {rules.Reason.MEMBERSHIP_REFUSED: MembershipState.REFUSED.value,
               rules.Reason.MEMBERSHIP_SUSPENDED: MembershipState.SUSPENDED.value}


@dataclass(frozen=True)
class Standing:
    """``reason`` None: the patron may use the resources of their network."""

    reason: str | None
    #: for ``card_invalid``: the card problem (expired, lost, blocked)
    detail: str = ""
    #: the referent's reason for a refusal or a suspension, as written for the patron
    note: str = ""
    #: when the current state began (the last change of the membership)
    since: datetime | None = None
    #: the last day of the partner's latest agreement, for ``partner_inactive``
    agreement_end: date | None = None

    @property
    def open(self) -> bool:
        return self.reason is None


def _card_problem(patron: Patron, today: date) -> CardProblem | None:
    if patron.card_problem:
        try:
            return CardProblem(patron.card_problem)
        except ValueError:
            return CardProblem.BLOCKED
    if patron.card_expires is not None and patron.card_expires < today:
        return CardProblem.EXPIRED
    return None


def referent_note(session: Session, membership) -> tuple[str, datetime | None]:
    """(the referent's reason, when) for a membership refused or suspended by a person, else ("", None)."""
    if membership is None:
        return "", None
    try:
        state = MembershipState(membership.state)
    except ValueError:
        return "", None
    transition = NOTED.get(state)
    if transition is None:
        return "", None
    event = session.scalar(
        select(MembershipEvent).where(MembershipEvent.membership_id == membership.id,
                                      MembershipEvent.transition == transition.value)
        .order_by(MembershipEvent.at.desc(), MembershipEvent.id.desc()).limit(1))
    if event is None or event.actor in MACHINE_ACTORS:
        return "", event.at if event is not None else None
    return (event.reason or "").strip(), event.at


def agreement_end(library, today: date) -> date | None:
    """The last day of the library's partner's latest agreement already over, if any."""
    ends = [a.end for a in library.partner.agreements if a.end < today]
    return max(ends) if ends else None


def explain(session: Session, reason: str, patron_id: int | None, library, today: date) -> Standing:
    """What more there is to say about a refusal already decided (the access decision's outcome).

    Reads the membership and its history by the patron's row id, never the patron row itself: the
    decision may have come from the session's snapshot, and this keeps its cost to the one read a
    refused or suspended patron needs.
    """
    if reason in (rules.Reason.MEMBERSHIP_REFUSED, rules.Reason.MEMBERSHIP_SUSPENDED) and patron_id is not None:
        membership = session.scalar(select(Membership).where(Membership.patron_id == patron_id))
        if membership is not None and membership.state == NOTED_STATE[reason]:
            note, at = referent_note(session, membership)
            return Standing(reason, note=note, since=at)
    if reason == rules.Reason.PARTNER_INACTIVE and library is not None:
        return Standing(reason, agreement_end=agreement_end(library, today))
    return Standing(reason)


def standing_of(session: Session, patron: Patron, today: date) -> Standing:
    """The patron's standing (``patron`` as loaded by ``services.access.load_patron``)."""
    membership = patron.membership
    state = None
    if membership is not None:
        try:
            state = MembershipState(membership.state)
        except ValueError:
            state = None
    since = membership.updated_at if membership is not None else None
    library = patron.library
    network = library.partner.network.slug
    facts = rules.PatronFacts(uid=patron.uid, membership=state, card_problem=_card_problem(patron, today))
    lib = rules.LibraryFacts(code=library.code, name=library.name, network=network,
                             partner_active=partner_active(library.partner, today),
                             enabled=library.enabled)
    anything = rules.SupplierFacts(slug="", networks=frozenset({network}))
    decision = rules.decide(facts, lib, anything, today=today)
    if decision.granted:
        return Standing(None, since=since)
    refusal = decision.refusal
    code = refusal.code
    if code == rules.Reason.PARTNER_INACTIVE:
        return Standing(code, since=since, agreement_end=agreement_end(library, today))
    if code in (rules.Reason.MEMBERSHIP_REFUSED, rules.Reason.MEMBERSHIP_SUSPENDED):
        note, at = referent_note(session, membership)
        return Standing(code, note=note, since=at or since)
    return Standing(code, detail=refusal.detail, since=since)
