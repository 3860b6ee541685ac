"""The staff session: who is logged in to the back-office, and who is half-way through the login.

A staff session lives in the session under ``session["staff"]`` (``{"id",
"email", "at"}``) and ends ``staff_session_timeout`` seconds after login,
whatever the patron-session settings say. Between the password and the TOTP
code, ``session["staff_pending"]`` says who is logging in. The login steps
themselves (password, lockout, TOTP) are ``services.staff_auth``'s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import session
from sqlalchemy.orm import Session

from ...db.models import StaffUser
from ...services import staff_auth

if TYPE_CHECKING:
    from ...runtime import Runtime

PENDING_SECONDS = 300  # time allowed between the password and the TOTP code


def begin_pending(user_id: int, sealed_secret: str | None = None, *, now: float) -> None:
    """Remember, between the password and the code, who is logging in (from ``now``, epoch seconds).

    The session id changes here already, not only at the end of the login: a
    half-done login (and the enrolment secret it will hold) must not be
    reachable through a session id planted in the browser beforehand.
    """
    session["staff_pending"] = {"id": user_id, "at": now, "secret": sealed_secret}
    session.regenerate()  # type: ignore[attr-defined]  # Flask types session as SessionMixin; ours is a StateSession


def pending(now: float) -> dict | None:
    """The login half-done in this session, unless older than PENDING_SECONDS at ``now``."""
    data = session.get("staff_pending")
    if not data or now - data.get("at", 0) > PENDING_SECONDS:
        session.pop("staff_pending", None)
        return None
    return data


def start(runtime: Runtime, session_db: Session, user: StaffUser) -> None:
    """Open the staff session with a fresh session id (no fixation)."""
    session.pop("staff_pending", None)
    session.pop("csrf_token", None)
    session.pop("patron", None)  # a shared computer: the previous patron's login does not carry over
    session.regenerate()  # type: ignore[attr-defined]  # Flask types session as SessionMixin; ours is a StateSession
    session["staff"] = {"id": user.id, "email": user.email, "at": runtime.clock.wall()}
    staff_auth.logged_in(runtime, session_db, user)


def current(runtime: Runtime, session_db: Session) -> StaffUser | None:
    """The logged-in staff user, or None when nobody is or the staff session has timed out."""
    data = session.get("staff")
    if not data:
        return None
    if runtime.clock.wall() - data.get("at", 0) > runtime.settings.staff_session_timeout:
        session.pop("staff", None)
        return None
    user = staff_auth.load_user(session_db, data.get("id", 0))
    if user is None or not user.active or user.email != data.get("email"):
        session.pop("staff", None)
        return None
    return user


def end() -> None:
    session.pop("staff", None)
    session.pop("staff_pending", None)
    session.regenerate()  # type: ignore[attr-defined]  # Flask types session as SessionMixin; ours is a StateSession
