"""Staff login: password, rate limits and lockout, TOTP second factor.

Network admins must use TOTP (they enrol at their first login); referents may
turn it on. The TOTP secret is stored encrypted with the instance key. The
staff session itself is the web layer's (``broker.web.staff.staff_session``).
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyotp
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..crypto import DecryptionError
from ..db.models import StaffRole, StaffUser
from ..errors import BrokerError
from . import audit, staff
from .throttle import LoginThrottle

if TYPE_CHECKING:
    from ..runtime import Runtime

ISSUER = "Sésame"
_CODE = re.compile(r"^\d{6}$")


class TooManyAttempts(BrokerError, code="rate_limited", status=429):
    """Too many login attempts: wait a while before trying again."""


@dataclass(frozen=True)
class PasswordStep:
    """What follows a correct password: ``done`` (logged in), ``totp`` (code asked) or ``enrol`` (TOTP set-up)."""

    next: str
    user_id: int


# -- rate limits and lockout ---------------------------------------------------------
def _account_key(runtime: Runtime, email: str) -> str:
    # keyed digest: the state store never holds the address typed
    return runtime.keys.token_hash("staff-login:" + email.strip().lower())[:32]


def _check_limits(runtime: Runtime, email: str, ip: str) -> None:
    """The per-address guards (``services.throttle``, staff counters), then the account's lockout."""
    key = _account_key(runtime, email)
    if not LoginThrottle(runtime, "staff").check(ip, key).allowed:
        raise TooManyAttempts()
    if runtime.state.get(f"staff-lock:{key}") is not None:
        raise TooManyAttempts()


def _failure(runtime: Runtime, email: str, user: StaffUser | None, step: str, ip: str) -> None:
    settings = runtime.settings
    key = _account_key(runtime, email)
    LoginThrottle(runtime, "staff").failed(ip, key)
    failures = runtime.state.incr(f"staff-fail:{key}", settings.login_lockout_seconds)
    locked = failures >= settings.login_card_failures
    if locked:
        runtime.state.put(f"staff-lock:{key}", {"at": runtime.clock.wall()}, settings.login_lockout_seconds)
        runtime.state.delete(f"staff-fail:{key}")
    if user is not None:  # unknown addresses are not written to the audit log
        audit.record_now(runtime, user.email, "staff.login", user.email, outcome="locked" if locked else "failed",
                         step=step)


def _success(runtime: Runtime, email: str, ip: str) -> None:
    key = _account_key(runtime, email)
    runtime.state.delete(f"staff-fail:{key}")
    LoginThrottle(runtime, "staff").succeeded(ip, key)


# -- password ------------------------------------------------------------------------
def load_user(session_db: Session, user_id: int) -> StaffUser | None:
    return session_db.scalar(
        select(StaffUser).where(StaffUser.id == user_id).options(
            selectinload(StaffUser.roles).selectinload(StaffRole.library),
            selectinload(StaffUser.roles).selectinload(StaffRole.network),
        )
    )


def check_password(runtime: Runtime, session_db: Session, email: str, password: str, ip: str) -> PasswordStep | None:
    """First login step. None for a wrong address or password (same answer for both); TooManyAttempts when locked."""
    email = (email or "").strip().lower()[:254]
    password = (password or "")[:1024]
    _check_limits(runtime, email, ip)
    user = staff.get_user(session_db, email) if email else None
    ok = staff.verify_password(user, password) and user is not None and user.active
    if not ok:
        _failure(runtime, email, user, "password", ip)
        return None
    if needs_enrolment(user):
        return PasswordStep("enrol", user.id)
    if user.totp_secret is not None:
        return PasswordStep("totp", user.id)
    _success(runtime, email, ip)
    return PasswordStep("done", user.id)


# -- TOTP ----------------------------------------------------------------------------
def needs_enrolment(user: StaffUser) -> bool:
    """Network admins may not work without a second factor."""
    return user.totp_secret is None and staff.is_admin(user)


def new_secret() -> str:
    return pyotp.random_base32()


def otpauth_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def seal(runtime: Runtime, secret: str) -> str:
    """An encrypted form of a secret that may sit in the server-side session during enrolment."""
    return runtime.keys.encrypt(secret.encode()).decode()


def unseal(runtime: Runtime, sealed: str | bytes | None) -> str | None:
    if not sealed:
        return None
    try:
        return runtime.keys.decrypt(sealed if isinstance(sealed, bytes) else sealed.encode()).decode()
    except DecryptionError:
        return None


def _code_matches(runtime: Runtime, user_id: int, secret: str, code: str) -> bool:
    """One step either side for clock drift; each time step accepted once (no replay)."""
    code = re.sub(r"\s", "", code or "")
    if not _CODE.match(code):
        return False
    totp = pyotp.TOTP(secret)
    now = runtime.clock.wall()
    for offset in (0, -totp.interval, totp.interval):
        moment = now + offset
        if hmac.compare_digest(totp.at(moment), code):
            step = totp.timecode(moment)
            return runtime.state.add(f"staff-totp-used:{user_id}:{step}", {}, totp.interval * 3)
    return False


def check_code(runtime: Runtime, session_db: Session, user: StaffUser, code: str, ip: str) -> bool:
    """Second login step for an enrolled account."""
    _check_limits(runtime, user.email, ip)
    secret = unseal(runtime, user.totp_secret)
    if secret is None or not _code_matches(runtime, user.id, secret, code):
        _failure(runtime, user.email, user, "totp", ip)
        return False
    _success(runtime, user.email, ip)
    return True


def enrol(runtime: Runtime, session_db: Session, user: StaffUser, secret: str, code: str, ip: str) -> bool:
    """Turn TOTP on once the user proves their authenticator shows the right code."""
    _check_limits(runtime, user.email, ip)
    if not _code_matches(runtime, user.id, secret, code):
        _failure(runtime, user.email, user, "totp-enrol", ip)
        return False
    _success(runtime, user.email, ip)
    user.totp_secret = runtime.keys.encrypt(secret.encode())
    audit.record(runtime, session_db, user.email, "staff.totp.enable", user.email)
    return True


def disable(runtime: Runtime, session_db: Session, user: StaffUser, code: str, ip: str) -> bool:
    """A referent may turn TOTP off with a current code; admins may not."""
    if staff.is_admin(user) or user.totp_secret is None:
        return False
    if not check_code(runtime, session_db, user, code, ip):
        return False
    user.totp_secret = None
    audit.record(runtime, session_db, user.email, "staff.totp.disable", user.email)
    return True


def logged_in(runtime: Runtime, session_db: Session, user: StaffUser) -> None:
    """A staff user got through every step of the login: the audit log says when."""
    audit.record(runtime, session_db, user.email, "staff.login", user.email, at=runtime.clock.utcnow().isoformat())
