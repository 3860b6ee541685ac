"""What a patron can do with their own account: close it (the export is services.privacy)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from .. import wording
from ..domain.memberships import MembershipState, Transition
from . import memberships, notifications, patrons
from .access import load_patron

if TYPE_CHECKING:
    from ..runtime import Runtime


def close_account(runtime: Runtime, session: Session, uid: str) -> bool:
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
    patrons.erase(patron, runtime.clock.utcnow())
    session.flush()
    when_fr, when_en = notifications.when(runtime, "fr"), notifications.when(runtime, "en")
    notifications.send(runtime, session, email, lib, "Votre compte est fermé / Your account is closed",
                       f"Bonjour,\n\nVotre compte {notifications.network_name(lib)} auprès "
                       f"{wording.of(lib.name)} est fermé et vos données personnelles sont effacées "
                       f"(le {when_fr}). Pour vous inscrire à nouveau : {notifications.portal_link(runtime, lib)}"
                       f"\n\nHello,\n\nYour account with {lib.name} is closed and your personal data erased "
                       f"({when_en}). To register again: {notifications.portal_link(runtime, lib)}")
    return True
