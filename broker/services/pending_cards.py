"""Card numbers of pending registrations, kept encrypted only until a referent decides.

Sésame keeps a digest and a hint of every card, never the number itself. A
referent checking a pending registration needs the number to ask the SIGB
about it, so ``register`` keeps it here, encrypted with the instance key,
and any decision (approve, refuse, close) deletes it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import delete
from sqlalchemy.orm import Session

from ..crypto import DecryptionError
from ..db.models import Library, Membership
from ..db.staff_models import PendingCard
from ..domain.patrons import normalize_card

if TYPE_CHECKING:
    from ..runtime import Runtime


def keep(runtime: Runtime, session: Session, membership: Membership, lib: Library, card: str) -> None:
    """Remember the card of a registration that waits for a referent."""
    token = runtime.keys.encrypt(normalize_card(card, case=lib.card_case).encode())
    row = session.get(PendingCard, membership.id)
    if row is None:
        session.add(PendingCard(membership_id=membership.id, card_encrypted=token))
    else:
        row.card_encrypted = token
    session.flush()


def card_of(runtime: Runtime, session: Session, membership_id: int) -> str | None:
    """The card number of a pending registration, or None when it is not kept (imported, decided)."""
    row = session.get(PendingCard, membership_id)
    if row is None:
        return None
    try:
        return runtime.keys.decrypt(row.card_encrypted).decode()
    except DecryptionError:
        return None


def forget(session: Session, membership_id: int) -> None:
    """Erase the card once the registration is decided."""
    session.execute(delete(PendingCard).where(PendingCard.membership_id == membership_id))
