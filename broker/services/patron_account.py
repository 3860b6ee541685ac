"""What a patron can do with their own account: close it (the export is services.privacy)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ..domain.memberships import MembershipState, Transition
from ..mail import queue
from . import memberships, patrons
from .access import load_patron


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
    queue(runtime, session, email,
          "Votre compte est fermé / Your account is closed",
          f"Bonjour,\n\nVotre compte Sésame auprès de {lib.name} est fermé et vos données personnelles "
          "sont effacées.\n\nHello,\n\nYour Sésame account is closed and your personal data erased.\n",
          library=lib)
    return True
