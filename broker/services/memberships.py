"""Registrations and membership changes, with their history and notifications."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..db.models import Library, Membership, MembershipEvent
from ..domain.memberships import InvalidTransition, MembershipState, Transition, apply
from ..domain.patrons import PatronRecord
from ..errors import Conflict, InvalidInput, NotFound
from ..events import MembershipRecord
from . import audit, notifications, patrons, pending_cards, validation
from .libraries import get_library

if TYPE_CHECKING:
    from ..runtime import Runtime

LIVE_STATES = {MembershipState.PENDING, MembershipState.ACTIVE, MembershipState.SUSPENDED, MembershipState.EXPIRED}


def _record_change(runtime: Runtime, session: Session, membership: Membership, lib: Library, transition: Transition,
                   actor: str, reason: str = "") -> MembershipEvent:
    current = MembershipState(membership.state) if membership.state else None
    try:
        change = apply(current, transition, actor=actor, at=runtime.clock.utcnow(), reason=reason)
    except InvalidTransition as exc:
        raise Conflict(str(exc)) from None
    membership.state = change.to_state.value
    membership.updated_at = change.at
    row = MembershipEvent(at=change.at, actor=actor, transition=transition.value,
                          from_state=change.from_state.value if change.from_state else None,
                          to_state=change.to_state.value, reason=reason)
    membership.history.append(row)
    session.flush()
    if row.from_state == MembershipState.PENDING and row.to_state != MembershipState.PENDING:
        pending_cards.forget(session, membership.id)
    runtime.emit(MembershipRecord(at=change.at, library=lib.code, membership_id=membership.id,
                                  transition=transition.value, from_state=row.from_state,
                                  to_state=row.to_state, actor=actor))
    return row


def register(runtime: Runtime, session: Session, lib: Library, card: str, record: PatronRecord, *, email: str | None,
             actor: str = "patron", consent: bool = True) -> Membership:
    """Sign a patron up after the SIGB confirmed the card is theirs.

    ``referent`` libraries put the membership in the pending queue; ``auto``
    libraries activate it at once when the SIGB says the card is valid.
    """
    email = validation.email(email, required=False)
    patron = patrons.upsert(runtime, session, lib, card, record)
    if email:
        patron.email = email
    membership = patron.membership
    if membership is not None and MembershipState(membership.state) in LIVE_STATES:
        raise Conflict("this card is already registered")
    if membership is None:
        membership = Membership(patron=patron, library_id=lib.id, state="")
        session.add(membership)
    membership.consent_at = runtime.clock.utcnow() if consent else None
    session.flush()
    _record_change(runtime, session, membership, lib, Transition.REGISTER, actor)

    if lib.registration == "auto" and record.card_problem(runtime.clock.today()) is None:
        _record_change(runtime, session, membership, lib, Transition.APPROVE, "system", "auto-validation")
    if membership.state == MembershipState.PENDING:
        pending_cards.keep(runtime, session, membership, lib, card)
    notifications.registered(runtime, session, patron, lib, membership)
    return membership


def find_membership(runtime: Runtime, session: Session, library_code: str, card: str) -> Membership:
    lib = get_library(session, library_code)
    patron = patrons.find(runtime, session, lib, card)
    if patron is None or patron.membership is None:
        raise NotFound(f"no membership for this card at library '{library_code}'")
    return patron.membership


def change(runtime: Runtime, session: Session, membership: Membership, transition: Transition, *, actor: str,
           reason: str = "") -> Membership:
    """Approve, refuse, suspend, reactivate, expire or close a membership."""
    reason = validation.text(reason, "reason", max_len=500, required=False)
    lib = session.get(Library, membership.library_id)
    _record_change(runtime, session, membership, lib, transition, actor, reason)
    audit.record(runtime, session, actor, f"membership.{transition.value}", f"{lib.code}/{membership.patron.card_hint}",
                 membership=membership.id, reason=reason)
    notifications.decided(runtime, session, membership.patron, lib, membership, transition, reason)
    return membership


def list_memberships(session: Session, library_code: str, state: str | None = None) -> list[Membership]:
    lib = get_library(session, library_code)
    query = select(Membership).where(Membership.library_id == lib.id).options(
        selectinload(Membership.patron)).order_by(Membership.created_at)
    if state:
        if state not in {s.value for s in MembershipState}:
            raise InvalidInput(f"state {state!r}: expected one of {', '.join(s.value for s in MembershipState)}")
        query = query.where(Membership.state == state)
    return list(session.scalars(query))


IMPORT_STATES = ("pending", "active", "refused", "suspended", "expired")


@dataclass(frozen=True)
class ImportRow:
    line: int
    card: str
    email: str | None
    state: str


def parse_import(text: str) -> list[ImportRow]:
    """Read ``card,email,state`` rows; any bad line refuses the whole file, naming the line."""
    reader = csv.reader(io.StringIO(text))
    rows: list[ImportRow] = []
    header = next(reader, None)
    if header is None or [h.strip().lower() for h in header] != ["card", "email", "state"]:
        raise InvalidInput("line 1: expected the header card,email,state")
    seen: set[str] = set()
    for number, fields in enumerate(reader, start=2):
        if not fields or all(not f.strip() for f in fields):
            continue
        if len(fields) != 3:
            raise InvalidInput(f"line {number}: expected 3 fields (card,email,state), got {len(fields)}")
        card, email, state = (f.strip() for f in fields)
        if not card or len(card) > 64:
            raise InvalidInput(f"line {number}: the card number is empty or too long")
        try:
            email = validation.email(email, required=False)
        except InvalidInput as exc:
            raise InvalidInput(f"line {number}: {exc}") from None
        if state not in IMPORT_STATES:
            raise InvalidInput(f"line {number}: state {state!r} is not one of {', '.join(IMPORT_STATES)}")
        if card.upper() in seen:
            raise InvalidInput(f"line {number}: card already listed earlier in the file")
        seen.add(card.upper())
        rows.append(ImportRow(number, card, email, state))
    return rows


def import_rows(runtime: Runtime, session: Session, library_code: str, rows: list[ImportRow], *, actor: str = "cli",
                progress: Callable[[int, int], None] | None = None) -> int:
    """Bring existing accounts over from an older portal, all or nothing.

    ``progress(done, total)`` is called after each row is checked, then after each is written.
    """
    lib = get_library(session, library_code)
    total = 2 * len(rows)
    for index, row in enumerate(rows, start=1):
        existing = patrons.find(runtime, session, lib, row.card)
        if existing is not None and existing.membership is not None:
            raise Conflict(f"line {row.line}: this card is already registered at '{library_code}'")
        if progress is not None:
            progress(index, total)
    now = runtime.clock.utcnow()
    for index, row in enumerate(rows, start=len(rows) + 1):
        if progress is not None:
            progress(index, total)
        patron = patrons.upsert(runtime, session, lib, row.card, None)
        patron.email = row.email
        membership = Membership(patron=patron, library_id=lib.id, state=row.state, consent_at=None)
        membership.history.append(MembershipEvent(at=now, actor=actor, transition="import", from_state=None,
                                                  to_state=row.state, reason="imported"))
        session.add(membership)
    session.flush()
    audit.record(runtime, session, actor, "memberships.import", library_code, count=len(rows))
    return len(rows)
