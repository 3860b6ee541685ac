"""Run the access decision for a logged-in patron and a supplier, and record the usage event.

Providers (SAML, OIDC, CAS) call :func:`check` before every assertion, token
or ticket and :func:`record_usage` with the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain

from sqlalchemy import event, select, text
from sqlalchemy.orm import Session, joinedload, selectinload

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
    """DESIGN §4 for this patron and supplier (None → unknown_supplier), plugin policies last.

    One query for the patron and its membership; the library, its partner's
    agreements and its network come from the process's library cache
    (``libraries.cache``), so ``outcome.library`` is a detached, read-only row.
    """
    patron = session.scalar(select(Patron).where(Patron.uid == uid).options(joinedload(Patron.membership)))
    if patron is None or patron.erased_at is not None:
        refusal = rules.Refusal(rules.Reason.NOT_REGISTERED)
        return AccessOutcome(rules.Decision(refusal), None, None, supplier)
    lib = libraries.cache(runtime).by_id(patron.library_id)
    if lib is None:  # deleted between the two reads: as if the patron were unknown
        refusal = rules.Refusal(rules.Reason.NOT_REGISTERED)
        return AccessOutcome(rules.Decision(refusal), None, None, supplier)
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
    session.info["usage_event"] = True
    ISSUANCES.labels(protocol, code).inc()
    runtime.emit(UsageRecord(at=at, outcome=code, protocol=protocol,
                             supplier=outcome.supplier.slug if outcome.supplier else None,
                             library=lib.code if lib else None,
                             network=lib.partner.network.slug if lib else None, patron_key=key))


def memberships_of(session: Session, patron: Patron) -> Membership | None:
    return patron.membership


# -- usage events do not wait for the disk ------------------------------------------------------
# Every assertion, token or ticket writes one usage event. On PostgreSQL a
# transaction that wrote nothing else commits with synchronous_commit off: it
# is still atomic and ordered, but the request does not wait for the WAL to
# reach the disk (a crash may lose the last fraction of a second of usage
# events, never a membership or any other change: a transaction that wrote
# anything else commits as usual).

@event.listens_for(Session, "after_flush")
def _note_durable_writes(session: Session, _context) -> None:
    if any(not isinstance(obj, UsageEvent) for obj in chain(session.new, session.dirty, session.deleted)):
        session.info["durable_writes"] = True


@event.listens_for(Session, "before_commit")
def _usage_only_commits_async(session: Session) -> None:
    if not session.info.get("usage_event"):
        return
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        return
    session.flush()  # whatever is pending is counted by _note_durable_writes first
    if not session.info.get("durable_writes"):
        session.execute(text("SET LOCAL synchronous_commit TO OFF"))


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_usage_marks(session: Session) -> None:
    session.info.pop("usage_event", None)
    session.info.pop("durable_writes", None)
