"""Run the access decision for a logged-in patron and a supplier, and record the usage event.

Providers (SAML, OIDC, CAS) call :func:`check` before every assertion, token
or ticket and :func:`record_usage` with the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..db.models import Library, Partner, Patron, Supplier
from ..domain import access as rules
from ..domain.identifiers import event_key
from ..events import UsageRecord
from ..metrics import ISSUANCES
from . import libraries, patrons, suppliers
from .patron_changes import PatronView
from .patron_snapshot import PatronSnapshot

if TYPE_CHECKING:
    from ..runtime import Runtime

#: released fields that are never in a session's snapshot: a supplier receiving them gets a fresh read
PERSONAL_RELEASES = frozenset({"display_name", "email"})


@dataclass
class AccessOutcome:
    decision: rules.Decision
    patron: PatronView | None
    library: Library | None
    supplier: Supplier | None
    patron_facts: rules.PatronFacts | None = None
    library_facts: rules.LibraryFacts | None = None
    supplier_facts: rules.SupplierFacts | None = None
    #: the patron was read again: the snapshot to keep in the patron's session
    snapshot: PatronSnapshot | None = None
    #: refused for a card linked to others: what each of the person's cards would get (``OtherCard``)
    others: tuple = ()

    @property
    def granted(self) -> bool:
        return self.decision.granted


def load_patron(session: Session, uid: str) -> Patron | None:
    return session.scalar(
        select(Patron).where(Patron.uid == uid).options(
            selectinload(Patron.membership),
            selectinload(Patron.library).selectinload(Library.partner).selectinload(Partner.agreements),
            selectinload(Patron.library).selectinload(Library.partner).selectinload(Partner.network),
        )
    )


def check(runtime: Runtime, session: Session | None, uid: str, supplier: Supplier | None,
          snapshot: PatronSnapshot | None = None, *, linked: bool = True) -> AccessOutcome:
    """The access decision for this patron and supplier (None → unknown_supplier), plugin policies last.

    ``session``: the caller's unit of work, or None (one is opened only if the patron must be read).
    ``snapshot`` is what the patron's session holds of the patron
    (``services.patron_changes``): used while nothing newer is known, else the
    patron is read again and ``outcome.snapshot`` holds the new snapshot for
    the session. The library, its partner's agreements and its network come
    from the library cache (``runtime.libraries``): ``outcome.patron`` is a
    :class:`PatronView` and ``outcome.library`` a detached, read-only row.
    ``linked``: a refused card linked to others lets the person's other cards decide (False: this card only).
    """
    personal = supplier is not None and bool(PERSONAL_RELEASES & set(supplier.release or ()))
    patron, fresh = runtime.patron_changes.view(session, uid, snapshot, personal=personal)
    if patron is None or patron.erased:
        refusal = rules.Refusal(rules.Reason.NOT_REGISTERED)
        return AccessOutcome(rules.Decision(refusal), None, None, supplier, snapshot=fresh)
    lib = runtime.libraries.by_id(patron.library_id)
    if lib is None:  # deleted between the two reads: as if the patron were unknown
        refusal = rules.Refusal(rules.Reason.NOT_REGISTERED)
        return AccessOutcome(rules.Decision(refusal), None, None, supplier, snapshot=fresh)
    pf = patrons.facts(patron, runtime.clock.today())
    lf = libraries.facts(lib, runtime.clock.today())
    sf = suppliers.facts(supplier) if supplier is not None else None

    def plugin_policies():
        if sf is None:
            return
        for refusal in runtime.pm.hook.broker_access_check(patron=pf, library=lf, supplier=sf):
            if refusal is not None:
                yield lambda r=refusal: r

    decision = rules.decide(pf, lf, sf, today=runtime.clock.today(), policies=plugin_policies())
    outcome = AccessOutcome(decision, patron, lib, supplier, pf, lf, sf, snapshot=fresh)
    if decision.granted or not linked or patron.person is None or sf is None:
        return outcome
    return _from_other_cards(runtime, session, outcome)


@dataclass(frozen=True)
class OtherCard:
    """One card of a person and the decision it gets, for the refusal page (never the card number)."""

    library: str
    network: str
    card_hint: str
    reason: str
    current: bool


def _from_other_cards(runtime: Runtime, session: Session | None, outcome: AccessOutcome) -> AccessOutcome:
    """A card linked to others is refused: the first other card of the person that is granted decides.

    The outcome keeps the session's snapshot of the logged-in card; the granting
    card's library is the one the usage event counts. Refused by every card:
    the outcome lists what each card got, for the refusal page.
    """
    from . import persons

    if session is None:
        with runtime.db.session() as own:
            return _from_other_cards(runtime, own, outcome)
    mine = outcome.patron
    found = persons.cards(session, mine.person)
    others = []
    for card in found:
        if card.erased:
            continue
        if card.uid == mine.uid:
            others.append(OtherCard(card.library_name, card.network_name, card.card_hint,
                                    outcome.decision.refusal.code, True))
            continue
        other = check(runtime, session, card.uid, outcome.supplier, linked=False)
        if other.granted:
            other.snapshot = outcome.snapshot
            return other
        others.append(OtherCard(card.library_name, card.network_name, card.card_hint,
                                other.decision.refusal.code, False))
    outcome.others = tuple(others)
    return outcome


def record_usage(runtime: Runtime, outcome: AccessOutcome, protocol: str) -> None:
    """One usage event per issuance attempt: granted, or the refusal's reason.

    The row goes to the runtime's usage log, which writes it with others in
    one batch within ``stats_flush_ms`` (``services.usage_log``): the request
    never waits for the database to store it.
    """
    at = runtime.clock.utcnow()
    code = "granted" if outcome.granted else outcome.decision.refusal.code
    lib = outcome.library
    key = event_key(runtime.keys.statistics, outcome.patron.uid) if outcome.patron is not None else None
    runtime.usage.add({"at": at, "network_id": lib.partner.network_id if lib is not None else None,
                       "library_id": lib.id if lib is not None else None,
                       "supplier_id": outcome.supplier.id if outcome.supplier else None,
                       "patron_key": key, "protocol": protocol, "outcome": code})
    ISSUANCES.labels(protocol, code).inc()
    runtime.emit(UsageRecord(at=at, outcome=code, protocol=protocol,
                             supplier=outcome.supplier.slug if outcome.supplier else None,
                             library=lib.code if lib else None,
                             network=lib.partner.network.slug if lib else None, patron_key=key))
