"""What referents and network admins do to memberships, always within their scope.

The staff pages and the JSON API both go through these functions, so the same
scoping rules and the same audit entries apply whichever way a change comes.
Acting outside one's scope raises OutOfScope (403); ``audited_denials``, wrapped
around the unit of work, records it in the audit log with the outcome ``denied``.
Messages for people are French :class:`~broker.errors.Translatable` texts: the
web layer shows them in the page's language.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from ..db.models import ApiToken, AuditEvent, Library, Membership, Partner, Patron, StaffRole, StaffUser
from ..domain.connectors import ConnectorError
from ..domain.memberships import InvalidTransition, MembershipState, Transition, next_state
from ..errors import BrokerError, Conflict, Forbidden, InvalidInput, NotFound, Translatable
from ..wording import sorted_names
from . import audit, memberships, patrons, pending_cards, staff, validation
from .libraries import connection, get_library

if TYPE_CHECKING:
    from ..runtime import Runtime

log = logging.getLogger("broker.staff")

REASON_REQUIRED = {Transition.REFUSE, Transition.SUSPEND}
STAFF_TRANSITIONS = (Transition.APPROVE, Transition.REFUSE, Transition.SUSPEND, Transition.REACTIVATE)
MAX_BULK = 200
MAX_REASON = 500
MAX_ID = 2**31 - 1  # database integer keys; larger numbers name nothing


class OutOfScope(Forbidden, code="out_of_scope"):
    """A staff user tried to see or change something outside their libraries or network."""

    def __init__(self, actor: str, action: str, target: str, detail: dict) -> None:
        super().__init__(Translatable("Cette action est hors de votre périmètre."))
        self.actor, self.action, self.target, self.detail = actor, action, target, detail


def deny(user: StaffUser, action: str, target: str, **detail) -> OutOfScope:
    """The error to raise for an out-of-scope attempt; ``audited_denials`` writes it to the audit log."""
    return OutOfScope(user.email, action, target, detail)


@contextmanager
def audited_denials(runtime: Runtime) -> Iterator[None]:
    """Record out-of-scope attempts raised inside, once the caller's transaction is rolled back.

    Wrap it around the ``with runtime.db.session()`` block: writing the audit entry after the
    rollback means it never waits on (or is lost with) the refused unit of work.
    """
    try:
        yield
    except OutOfScope as exc:
        audit.record_now(runtime, exc.actor, exc.action, exc.target, outcome="denied", **exc.detail)
        raise


# -- scope -----------------------------------------------------------------------------
def libraries_in_scope(session: Session, user: StaffUser) -> list[Library]:
    scope = staff.scope_of(user)
    if scope.empty:
        return []
    query = select(Library).join(Partner).options(selectinload(Library.partner).selectinload(Partner.network)).where(
        or_(Library.id.in_(scope.libraries), Partner.network_id.in_(scope.admin_networks))
    )
    return sorted_names(session.scalars(query), key=lambda lib: lib.name)


def library_for(runtime: Runtime, session: Session, user: StaffUser, code: str, action: str = "library.view") -> Library:
    """The library ``code`` if the user may act on it; NotFound or Forbidden (audited) otherwise."""
    try:
        lib = get_library(session, validation.library_code(code))
    except InvalidInput:
        raise NotFound(Translatable("Bibliothèque inconnue : %(code)s", code=code[:64]),
                       code="unknown_library") from None
    if not staff.scope_of(user).covers(lib):
        raise deny(user, action, lib.code)
    return lib


def membership_for(runtime: Runtime, session: Session, user: StaffUser, membership_id: int,
                   action: str = "membership.view") -> Membership:
    membership = None
    if 0 < membership_id <= MAX_ID:
        membership = session.scalar(
            select(Membership).where(Membership.id == membership_id).options(
                selectinload(Membership.patron), selectinload(Membership.history))
        )
    if membership is None:
        raise NotFound(Translatable("Aucune inscription ne porte ce numéro."))
    lib = get_library(session, session.get(Library, membership.library_id).code)
    if not staff.scope_of(user).covers(lib):
        raise deny(user, action, f"{lib.code}/{membership.patron.card_hint}", membership=membership.id)
    return membership


# -- decisions -------------------------------------------------------------------------
def decide(runtime: Runtime, session: Session, user: StaffUser, membership_id: int, transition: Transition,
           reason: str = "") -> Membership:
    """Validate, refuse, suspend or reactivate one membership (the patron is e-mailed)."""
    if transition not in STAFF_TRANSITIONS:
        raise InvalidInput(f"transition {transition.value!r} is not a staff action")
    membership = membership_for(runtime, session, user, membership_id, f"membership.{transition.value}")
    reason = clean_reason(reason, required=transition in REASON_REQUIRED)
    try:
        next_state(MembershipState(membership.state), transition)
    except (InvalidTransition, ValueError):
        raise Conflict(Translatable("Impossible : cette inscription est dans l'état « %(state)s ».",
                                    state=membership.state), code="invalid_transition") from None
    return memberships.change(runtime, session, membership, transition, actor=user.email, reason=reason)


def clean_reason(reason: str | None, *, required: bool) -> str:
    reason = (reason or "").strip()
    if required and not reason:
        raise InvalidInput(Translatable("Indiquez un motif."), code="reason_required")
    if len(reason) > MAX_REASON:
        raise InvalidInput(Translatable("Le motif ne doit pas dépasser %(n)d caractères.", n=MAX_REASON),
                           code="reason_too_long")
    return validation.text(reason, "reason", max_len=MAX_REASON, required=False)


@dataclass(frozen=True)
class BulkOutcome:
    approved: tuple[int, ...]
    skipped: tuple[int, ...]


def approve_many(runtime: Runtime, session: Session, user: StaffUser, membership_ids: list[int]) -> BulkOutcome:
    """Validate several pending registrations; any one out of scope refuses the whole batch."""
    if not membership_ids:
        raise InvalidInput(Translatable("Sélectionnez au moins une inscription."), code="empty_selection")
    if len(membership_ids) > MAX_BULK:
        raise InvalidInput(Translatable("Au plus %(n)d inscriptions à la fois.", n=MAX_BULK), code="too_many")
    chosen = [membership_for(runtime, session, user, mid, "membership.approve")
              for mid in dict.fromkeys(membership_ids)]
    approved, skipped = [], []
    for membership in chosen:
        if membership.state != MembershipState.PENDING:
            skipped.append(membership.id)
            continue
        memberships.change(runtime, session, membership, Transition.APPROVE, actor=user.email)
        approved.append(membership.id)
    return BulkOutcome(tuple(approved), tuple(skipped))


# -- lists and counts ------------------------------------------------------------------
def page_of(session: Session, lib: Library, state: str | None, *, limit: int,
            offset: int) -> tuple[list[Membership], int]:
    """One page of a library's memberships (oldest first) and the total count."""
    if state and state not in {s.value for s in MembershipState}:
        raise InvalidInput(Translatable("État inconnu : %(state)s (attendu : %(known)s).", state=state,
                                        known=", ".join(s.value for s in MembershipState)), code="bad_state")
    where = [Membership.library_id == lib.id]
    if state:
        where.append(Membership.state == state)
    total = session.scalar(select(func.count()).select_from(Membership).where(*where)) or 0
    rows = session.scalars(
        select(Membership).where(*where).options(selectinload(Membership.patron))
        .order_by(Membership.created_at, Membership.id).limit(limit).offset(offset)
    )
    return list(rows), total


def counts_for(session: Session, library_ids: list[int]) -> dict[int, dict[str, int]]:
    """Members by state for several libraries in one query."""
    out = {lid: {s.value: 0 for s in MembershipState} for lid in library_ids}
    if not library_ids:
        return out
    rows = session.execute(
        select(Membership.library_id, Membership.state, func.count()).where(Membership.library_id.in_(library_ids))
        .group_by(Membership.library_id, Membership.state)
    ).all()
    for lid, state, n in rows:
        out[lid][state] = n
    return out


# -- SIGB lookup -----------------------------------------------------------------------
@dataclass(frozen=True)
class SigbView:
    """What the SIGB says of a card, as the referent needs it beside a registration."""

    status: str  # found | unknown | unavailable | no_card | mismatch
    name: str = ""
    birth_year: int | None = None
    expires: date | None = None
    problem: str | None = None

    @property
    def valid(self) -> bool:
        return self.status == "found" and self.problem is None

    def as_json(self) -> dict:
        return {"status": self.status, "valid": self.valid, "name": self.name or None,
                "birth_year": self.birth_year, "expires": self.expires.isoformat() if self.expires else None,
                "problem": self.problem}


def sigb_lookup(runtime: Runtime, lib: Library, card: str) -> SigbView:
    """Ask the library's SIGB about a card (cached briefly; never raises for a SIGB failure)."""
    try:
        record = runtime.sigb.lookup(connection(lib), card)
    except ConnectorError:  # unavailable, protocol error: not the patron's fault, said as such
        return SigbView("unavailable")
    except (BrokerError, ValueError) as exc:  # a connector misconfigured: the queue still works
        log.warning("lookup impossible for library %s: %s", lib.code, type(exc).__name__)
        return SigbView("unavailable")
    if record is None:
        return SigbView("unknown")
    problem = record.card_problem(runtime.clock.today())
    return SigbView("found", record.name, record.birth_year, record.expires, problem.value if problem else None)


def lookup_pending(runtime: Runtime, session: Session, lib: Library, membership: Membership) -> SigbView:
    """The SIGB's view of a pending registration, from the card kept until the decision."""
    card = pending_cards.card_of(runtime, session, membership.id)
    if card is None:
        return SigbView("no_card")
    return sigb_lookup(runtime, lib, card)


def lookup_typed(runtime: Runtime, session: Session, user: StaffUser, lib: Library, membership: Membership,
                 card: str) -> SigbView:
    """The SIGB's view of a card the referent typed for a registration; it must be that patron's card."""
    card = (card or "").strip()
    if not card or len(card) > 64:
        raise InvalidInput(Translatable("Tapez le numéro de carte (64 caractères au plus)."), code="bad_card")
    found = patrons.find(runtime, session, lib, card)
    if found is None or found.id != membership.patron_id:
        return SigbView("mismatch")
    return lookup_card(runtime, session, user, lib, card)


def lookup_card(runtime: Runtime, session: Session, user: StaffUser, lib: Library, card: str) -> SigbView:
    """A lookup asked for by a staff user: recorded in the audit log (card hint only)."""
    view = sigb_lookup(runtime, lib, card)
    audit.record(runtime, session, user.email, "card.lookup", f"{lib.code}/{patrons.digest_for(runtime, lib, card)[1]}",
                 sigb=view.status)
    return view


# -- patrons ---------------------------------------------------------------------------
def _literal(text: str) -> str:
    """``text`` for a LIKE pattern, its wildcards taken literally (escape character: backslash)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search(runtime: Runtime, session: Session, user: StaffUser, text: str, library: Library | None = None,
           limit: int = 50) -> list[Membership]:
    """Memberships in scope whose card is ``text`` (keyed digest) or whose name or e-mail contains it."""
    text = (text or "").strip()
    if not text or len(text) > 200:
        raise InvalidInput(Translatable(
            "Tapez un numéro de carte ou au moins deux lettres du nom (200 caractères au plus)."), code="bad_search")
    text = validation.text(text, "search", max_len=200)
    libs = [library] if library is not None else libraries_in_scope(session, user)
    if not libs:
        return []
    lib_ids = [lib.id for lib in libs]
    digests = [patrons.digest_for(runtime, lib, text)[0] for lib in libs if len(text) <= 64]
    clauses = [Patron.card_digest.in_(digests)] if digests else []
    if len(text) >= 2:
        pattern = "%" + _literal(text) + "%"
        clauses += [Patron.display_name.ilike(pattern, escape="\\"), Patron.email.ilike(pattern, escape="\\")]
    if not clauses:
        return []
    query = select(Membership).join(Patron, Patron.id == Membership.patron_id).where(
        Membership.library_id.in_(lib_ids), or_(*clauses)).options(selectinload(Membership.patron)).order_by(
        Patron.display_name, Membership.id).limit(limit)
    return list(session.scalars(query))


# -- audit log -------------------------------------------------------------------------
def audit_page(session: Session, user: StaffUser, *, limit: int = 100, before: int | None = None) -> list[AuditEvent]:
    """Recent audit entries about the admin's networks: their libraries and their staff."""
    scope = staff.scope_of(user)
    if not scope.admin_networks:
        raise Forbidden(Translatable("Le journal d'audit est réservé aux administrateurs du réseau."),
                        code="admins_only")
    codes = list(session.scalars(
        select(Library.code).join(Partner).where(Partner.network_id.in_(scope.admin_networks))))
    slugs = [r.network.slug for r in user.roles if r.role == "admin" and r.network is not None]
    staff_emails = list(session.scalars(
        select(StaffUser.email).join(StaffRole).outerjoin(Library, Library.id == StaffRole.library_id)
        .outerjoin(Partner, Partner.id == Library.partner_id)
        .where(or_(StaffRole.network_id.in_(scope.admin_networks), Partner.network_id.in_(scope.admin_networks)))
    ))
    clauses = [AuditEvent.target.in_(codes + slugs), AuditEvent.actor.in_(staff_emails)]
    clauses += [AuditEvent.target.like(_literal(code) + "/%", escape="\\") for code in codes]
    query = select(AuditEvent).where(or_(*clauses)).order_by(AuditEvent.id.desc()).limit(limit)
    if before:
        query = query.where(AuditEvent.id < before)
    return list(session.scalars(query))


# -- API tokens ------------------------------------------------------------------------
def tokens_of(session: Session, user: StaffUser) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())))


def revoke_token(runtime: Runtime, session: Session, user: StaffUser, token_id: int) -> ApiToken:
    row = session.get(ApiToken, token_id) if 0 < token_id <= MAX_ID else None
    if row is None:
        raise NotFound(Translatable("Jeton introuvable."))
    if row.user_id != user.id:
        raise deny(user, "api_token.revoke", str(token_id))
    if row.revoked_at is None:
        row.revoked_at = runtime.clock.utcnow()
        audit.record(runtime, session, user.email, "api_token.revoke", user.email, name=row.name)
    return row


def renew_token(runtime: Runtime, session: Session, user: StaffUser, token_id: int, days: int | str | None) -> ApiToken:
    """Give one of the user's live tokens a new expiry, ``days`` from now."""
    row = session.get(ApiToken, token_id) if 0 < token_id <= MAX_ID else None
    if row is None:
        raise NotFound(Translatable("Jeton introuvable."))
    if row.user_id != user.id:
        raise deny(user, "api_token.renew", str(token_id))
    if row.revoked_at is not None:
        raise Conflict(Translatable("Un jeton révoqué ne peut pas être renouvelé : créez-en un autre."))
    staff.renew_api_token(runtime, session, row, actor=user.email, days=days)
    return row


def iso(value: datetime | date | None) -> str | None:
    """ISO 8601; times are UTC (SQLite hands them back without their offset)."""
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat() if value else None
