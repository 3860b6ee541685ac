"""A patron's right of access and portability (GDPR art. 15 and 20): everything Sésame holds about them.

:func:`patron_export` builds the document; the patron downloads it from their
account page, and staff answering a request made at the library desk use
:func:`export_for_staff` (``broker privacy export CODE CARD``), which records
the request in the audit trail.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.models import AuditEvent, LocalPatron, Patron, Supplier, UsageEvent
from ..db.staff_models import PendingCard
from ..domain.identifiers import event_key
from ..errors import NotFound
from . import audit, persons, release, staff, suppliers
from .access import load_patron
from .libraries import get_library
from .patron_changes import PatronView
from .privacy_record import retention_table
from .stats.months import Month

if TYPE_CHECKING:
    from ..runtime import Runtime

FORMAT = "sesame-patron-export/1"


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _by(actor: str) -> str:
    """Who acted, as the patron is told: themselves, the system, or their library's staff (not a staff name)."""
    if actor == "patron":
        return "patron"
    return "system" if actor in ("system", "demo", "cli", "test") else "library"


def _membership(session: Session, patron: Patron) -> dict[str, Any] | None:
    m = patron.membership
    if m is None:
        return None
    kept = session.get(PendingCard, m.id) is not None
    return {
        "state": m.state,
        "consent_at": _iso(m.consent_at),
        "created_at": _iso(m.created_at),
        "updated_at": _iso(m.updated_at),
        "card_number_kept_encrypted_until_decision": kept,
        "history": [{"at": _iso(h.at), "transition": h.transition, "from": h.from_state, "to": h.to_state,
                     "by": _by(h.actor), "reason": h.reason} for h in m.history],
    }


def _local_account(session: Session, patron: Patron) -> dict[str, Any] | None:
    """The record a library without a usable SIGB keeps in Sésame (same card digest)."""
    row = session.scalar(select(LocalPatron).where(LocalPatron.library_id == patron.library_id,
                                                   LocalPatron.card_digest == patron.card_digest))
    if row is None:
        return None
    return {"name": row.name, "email": row.email, "birth_date": _iso(row.birth_date), "category": row.category,
            "expires": _iso(row.expires), "blocked": row.blocked,
            "pin": "kept only as an argon2 hash, never readable"}


def _suppliers(runtime: Runtime, session: Session, patron: Patron) -> list[dict[str, Any]]:
    lib = patron.library
    network = lib.partner.network
    view = PatronView.of(patron)
    out = []
    for supplier in suppliers.list_suppliers(session, network.slug):
        if not supplier.enabled:
            continue
        out.append({
            "slug": supplier.slug, "name": supplier.name, "protocol": supplier.protocol,
            "released_when_access_is_granted": release.attributes(runtime, view, lib, supplier),
            "in_plain_words": release.describe_release(supplier),
        })
    return out


def usage_by_month(runtime: Runtime, session: Session, patron: Patron) -> list[dict[str, Any]]:
    """Access attempts recorded under the patron's pseudonymous key, per month and supplier."""
    runtime.usage.flush()  # this process's latest events too
    key = event_key(runtime.keys.statistics, patron.uid)
    slugs = {s.id: s.slug for s in session.scalars(select(Supplier))}
    counts: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: {"granted": 0, "refused": 0})
    # one patron's events: a few hundred a year, read with the key's index-free scan bounded by retention
    for at, supplier_id, outcome in session.execute(
            select(UsageEvent.at, UsageEvent.supplier_id, UsageEvent.outcome).where(UsageEvent.patron_key == key)):
        slot = counts[(str(Month.of(at)), slugs.get(supplier_id, "unknown"))]
        slot["granted" if outcome == "granted" else "refused"] += 1
    return [{"month": month, "supplier": supplier, **values} for (month, supplier), values in sorted(counts.items())]


def _staff_actions(session: Session, patron: Patron) -> list[dict[str, Any]]:
    """Audit entries about this patron's membership (what was done, not which staff member did it)."""
    m = patron.membership
    if m is None:
        return []
    target = f"{patron.library.code}/{patron.card_hint}"
    rows = session.scalars(select(AuditEvent).where(AuditEvent.target == target).order_by(AuditEvent.id))
    return [{"at": _iso(r.at), "action": r.action, "outcome": r.outcome, "by": _by(r.actor)}
            for r in rows if (r.detail or {}).get("membership") in (None, m.id)]


def patron_export(runtime: Runtime, session: Session, patron: Patron) -> dict[str, Any]:
    """Everything Sésame holds about ``patron``, as one JSON-ready document."""
    patron = load_patron(session, patron.uid) or patron
    lib = patron.library
    network = lib.partner.network
    return {
        "format": FORMAT,
        "exported_at": _iso(runtime.clock.utcnow()),
        "controllers": {"network": network.name, "network_contact": network.contact_email or None,
                        "library": lib.name, "library_contact": lib.contact_email or None},
        "patron": {
            "uid": patron.uid,
            "card_last_characters": patron.card_hint or None,
            "card_number": "not kept: only a keyed digest that finds your card without revealing it",
            "display_name": patron.display_name,
            "email": patron.email,
            "birth_year": patron.birth_year,
            "category": patron.category,
            "card_expires": _iso(patron.card_expires),
            "card_problem": patron.card_problem,
            "created_at": _iso(patron.created_at),
            "last_login_at": _iso(patron.last_login_at),
            "erased_at": _iso(patron.erased_at),
        },
        "library": {"code": lib.code, "name": lib.name, "commune": lib.commune, "partner": lib.partner.name,
                    "network": network.slug, "network_name": network.name},
        "membership": _membership(session, patron),
        "local_account": _local_account(session, patron),
        "suppliers": _suppliers(runtime, session, patron),
        "usage": {
            "note": ("Each access attempt is recorded with the time, the supplier, the outcome and a pseudonymous "
                     "key derived from your account, never your name or card. Only monthly totals remain after "
                     f"{runtime.settings.retention_usage_events_days} days."),
            "per_month_and_supplier": usage_by_month(runtime, session, patron),
        },
        "linked_cards": persons.export(runtime, session, patron),
        "staff_actions": _staff_actions(session, patron),
        "retention": [row.as_dict() for row in retention_table(runtime.settings)],
    }


def export_for_uid(runtime: Runtime, session: Session, uid: str) -> dict[str, Any] | None:
    """The export of the logged-in patron ``uid`` (None when there is no such patron, or it was erased).

    The portal's ``/account/export`` calls this in place of its own summary.
    """
    patron = load_patron(session, uid)
    if patron is None or patron.erased_at is not None:
        return None
    return patron_export(runtime, session, patron)


def export_for_staff(runtime: Runtime, session: Session, library_code: str, card: str, *, actor: str,
                     user=None) -> dict[str, Any]:
    """Answer a patron's request made at the library: their export, found by card; the request is audited.

    ``user`` (a staff user) limits it to their scope; the CLI (an operator) passes none.
    """
    lib = get_library(session, library_code)
    if user is not None and not staff.scope_of(user).covers(lib):
        audit.record_now(runtime, actor, "privacy.export", lib.code, outcome="denied")
        from ..errors import Forbidden

        raise Forbidden("this library is outside your scope", code="out_of_scope")
    from . import patrons

    patron = patrons.find(runtime, session, lib, card)
    if patron is None or patron.erased_at is not None:
        audit.record_now(runtime, actor, "privacy.export", lib.code, outcome="not_found")
        raise NotFound(f"Sésame holds nothing about this card at library '{lib.code}'", code="unknown_patron")
    data = patron_export(runtime, session, patron)
    if user is not None and data.get("linked_cards"):
        # staff learn only how many other cards the person has, never where (the patron's own download says)
        others = len(data["linked_cards"]["cards"]) - 1
        data["linked_cards"] = {"note": "This card is linked to other cards of the same person; the patron's own "
                                        "download from their account lists them.", "other_cards": others}
    audit.record(runtime, session, actor, "privacy.export", f"{lib.code}/{patron.card_hint}",
                 reason="request of the patron")
    return data
