"""Run the access decision for a logged-in patron and a supplier, and record the usage event.

Providers (SAML, OIDC, CAS) call :func:`check` before every assertion, token
or ticket and :func:`record_usage` with the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..clock import today, utcnow
from ..db.models import Library, Membership, Partner, Patron, Supplier, UsageEvent
from ..domain import access as rules
from ..domain.identifiers import event_key
from ..events import UsageRecord
from ..metrics import ISSUANCES
from . import libraries, patrons, suppliers


@dataclass
class AccessOutcome:
    decision: rules.Decision
    patron: Patron | None
    library: Library | None
    supplier: Supplier | None
    patron_facts: rules.PatronFacts | None = None
    library_facts: rules.LibraryFacts | None = None
    supplier_facts: rules.SupplierFacts | None = None

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


def check(runtime, session: Session, uid: str, supplier: Supplier | None) -> AccessOutcome:
    """DESIGN §4 for this patron and supplier (None → unknown_supplier), plugin policies last."""
    patron = load_patron(session, uid)
    if patron is None or patron.erased_at is not None:
        refusal = rules.Refusal(rules.Reason.NOT_REGISTERED)
        return AccessOutcome(rules.Decision(refusal), None, None, supplier)
    lib = patron.library
    pf = patrons.facts(patron)
    lf = libraries.facts(lib)
    sf = suppliers.facts(supplier) if supplier is not None else None

    def plugin_policies():
        if sf is None:
            return
        for refusal in runtime.pm.hook.broker_access_check(patron=pf, library=lf, supplier=sf):
            if refusal is not None:
                yield lambda r=refusal: r

    decision = rules.decide(pf, lf, sf, today=today(), policies=plugin_policies())
    return AccessOutcome(decision, patron, lib, supplier, pf, lf, sf)


def record_usage(runtime, session: Session, outcome: AccessOutcome, protocol: str) -> None:
    """One usage event per issuance attempt: granted, or the refusal's reason."""
    at = utcnow()
    code = "granted" if outcome.granted else outcome.decision.refusal.code
    lib = outcome.library
    network_id = lib.partner.network_id if lib is not None else None
    key = event_key(runtime.keys.statistics, outcome.patron.uid) if outcome.patron is not None else None
    session.add(UsageEvent(at=at, network_id=network_id, library_id=lib.id if lib else None,
                           supplier_id=outcome.supplier.id if outcome.supplier else None,
                           patron_key=key, protocol=protocol, outcome=code))
    ISSUANCES.labels(protocol, code).inc()
    runtime.emit(UsageRecord(at=at, outcome=code, protocol=protocol,
                             supplier=outcome.supplier.slug if outcome.supplier else None,
                             library=lib.code if lib else None,
                             network=lib.partner.network.slug if lib else None, patron_key=key))


def memberships_of(session: Session, patron: Patron) -> Membership | None:
    return patron.membership
