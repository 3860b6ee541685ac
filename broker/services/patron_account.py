"""What a patron can do with their own account: read everything Sésame holds, close it."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..clock import utcnow
from ..db.models import Patron, Supplier, UsageEvent
from ..domain.identifiers import event_key
from ..domain.memberships import MembershipState, Transition
from ..mail import after_commit
from . import memberships, patrons, release, suppliers
from .access import load_patron


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _by(actor: str) -> str:
    """Who made a change, as the patron is told: themselves, the system, or their library's staff."""
    if actor == "patron":
        return "patron"
    return "system" if actor in ("system", "demo", "cli") else "library"


def usage_counts(runtime, session: Session, patron: Patron) -> dict[str, int]:
    """Access attempts recorded under the patron's pseudonymous key, per supplier slug."""
    key = event_key(runtime.keys.statistics, patron.uid)
    rows = session.execute(
        select(Supplier.slug, func.count()).select_from(UsageEvent)
        .join(Supplier, Supplier.id == UsageEvent.supplier_id, isouter=True)
        .where(UsageEvent.patron_key == key).group_by(Supplier.slug)
    ).all()
    return {slug or "unknown": n for slug, n in rows}


def export_data(runtime, session: Session, uid: str) -> dict | None:
    """Everything Sésame holds about a patron, as one JSON-ready document (None: no such patron)."""
    patron = load_patron(session, uid)
    if patron is None or patron.erased_at is not None:
        return None
    lib = patron.library
    network = lib.partner.network
    membership = patron.membership
    offered = suppliers.list_suppliers(session, network.slug)
    return {
        "exported_at": _iso(utcnow()),
        "patron": {
            "uid": patron.uid,
            "card_last_characters": patron.card_hint or None,
            "display_name": patron.display_name,
            "email": patron.email,
            "birth_year": patron.birth_year,
            "category": patron.category,
            "card_expires": _iso(patron.card_expires),
            "card_problem": patron.card_problem,
            "created_at": _iso(patron.created_at),
            "last_login_at": _iso(patron.last_login_at),
        },
        "library": {"code": lib.code, "name": lib.name, "network": network.slug, "network_name": network.name},
        "membership": None if membership is None else {
            "state": membership.state,
            "consent_at": _iso(membership.consent_at),
            "created_at": _iso(membership.created_at),
            "updated_at": _iso(membership.updated_at),
            "history": [
                {"at": _iso(h.at), "transition": h.transition, "from": h.from_state, "to": h.to_state,
                 "by": _by(h.actor), "reason": h.reason}
                for h in membership.history
            ],
        },
        "usage_events_per_supplier": usage_counts(runtime, session, patron),
        "shared_with_suppliers": {s.slug: release.describe_release(s) for s in offered if s.enabled},
    }


def close_account(runtime, session: Session, uid: str) -> bool:
    """End the membership and erase the personal data; False when there is nothing to close.

    The patron gets a last e-mail (to the address being erased) once the change is committed.
    """
    patron = load_patron(session, uid)
    if patron is None or patron.erased_at is not None:
        return False
    lib = patron.library
    email = patron.email
    membership = patron.membership
    if membership is not None and membership.state != MembershipState.CLOSED:
        memberships.change(runtime, session, membership, Transition.CLOSE, actor="patron",
                           reason="closed by the patron")
    patrons.erase(patron)
    session.flush()
    after_commit(session, runtime.settings, email,
                 "Votre compte est fermé / Your account is closed",
                 f"Bonjour,\n\nVotre compte Sésame auprès de {lib.name} est fermé et vos données personnelles "
                 "sont effacées.\n\nHello,\n\nYour Sésame account is closed and your personal data erased.\n")
    return True
