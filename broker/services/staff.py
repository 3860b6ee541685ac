"""Staff accounts (referents and network admins), their roles, passwords and API tokens."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..clock import as_utc
from ..db.models import ApiToken, Library, Network, StaffRole, StaffUser
from ..errors import Conflict, InvalidInput, NotFound
from . import audit, validation

if TYPE_CHECKING:
    from ..runtime import Runtime

ROLES = ("referent", "admin")
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    if len(password) < 12:
        raise InvalidInput("password: at least 12 characters")
    return _hasher.hash(password)


def verify_password(user: StaffUser | None, password: str) -> bool:
    """Constant work whether or not the account exists."""
    try:
        return _hasher.verify(user.password_hash if user and user.password_hash else _DUMMY_HASH, password) and bool(user)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def get_user(session: Session, email: str) -> StaffUser | None:
    return session.scalar(
        select(StaffUser).where(StaffUser.email == email.strip().lower()).options(
            selectinload(StaffUser.roles).selectinload(StaffRole.library),
            selectinload(StaffUser.roles).selectinload(StaffRole.network),
        )
    )


@dataclass(frozen=True)
class NewStaff:
    user: StaffUser
    password: str | None


def add_staff(runtime: Runtime, session: Session, email: str, role: str, scope: str, *, name: str = "",
              password: str | None = None, actor: str = "cli") -> NewStaff:
    """Give ``email`` a role on a library (referent) or a network (admin); create the account if new.

    A new account without a password gets a random one, returned once.
    """
    email = validation.email(email).lower()
    if role not in ROLES:
        raise InvalidInput(f"role {role!r}: expected referent or admin")
    library = network = None
    if role == "referent":
        library = session.scalar(select(Library).where(Library.code == scope))
        if library is None:
            network = session.scalar(select(Network).where(Network.slug == scope))
            if network is None:
                raise NotFound(f"unknown library or network '{scope}'")
            raise InvalidInput(f"a referent's scope is a library code, not the network '{scope}'")
    else:
        network = session.scalar(select(Network).where(Network.slug == scope))
        if network is None:
            raise NotFound(f"unknown network '{scope}'")
    user = get_user(session, email)
    created_password = None
    if user is None:
        created_password = password or secrets.token_urlsafe(12)
        user = StaffUser(email=email, name=validation.text(name, "name", required=False),
                         password_hash=hash_password(created_password))
        session.add(user)
        session.flush()
    elif password:
        user.password_hash = hash_password(password)
    for existing in user.roles:
        if existing.role == role and existing.library_id == (library.id if library else None) and \
                existing.network_id == (network.id if network and role == "admin" else None):
            raise Conflict(f"{email} is already {role} of '{scope}'")
    user.roles.append(StaffRole(role=role, library=library, network=network if role == "admin" else None))
    session.flush()
    audit.record(runtime, session, actor, "staff.add", email, role=role, scope=scope)
    return NewStaff(user, created_password if not password else None)


@dataclass(frozen=True)
class Scope:
    """What a staff user may see and act on."""

    admin_networks: frozenset[int]
    libraries: frozenset[int]

    def covers(self, lib: Library) -> bool:
        return lib.id in self.libraries or lib.partner.network_id in self.admin_networks

    @property
    def empty(self) -> bool:
        return not self.admin_networks and not self.libraries


def scope_of(user: StaffUser) -> Scope:
    return Scope(
        admin_networks=frozenset(r.network_id for r in user.roles if r.role == "admin" and r.network_id),
        libraries=frozenset(r.library_id for r in user.roles if r.role == "referent" and r.library_id),
    )


def is_admin(user: StaffUser) -> bool:
    return any(r.role == "admin" for r in user.roles)


#: API token lifetimes: the default, and the longest one may choose (at creation or renewal)
TOKEN_DAYS = 90
MAX_TOKEN_DAYS = 365
#: the owner is e-mailed this long before a token expires
TOKEN_WARNING = timedelta(days=7)


def token_days(days: int | str | None) -> int:
    """A token lifetime in days: 1 to MAX_TOKEN_DAYS (TOKEN_DAYS when not given)."""
    if days is None or days == "":
        return TOKEN_DAYS
    text = str(days).strip()
    if not text.isdigit() or not 1 <= int(text) <= MAX_TOKEN_DAYS:
        raise InvalidInput(f"token lifetime: expected 1 to {MAX_TOKEN_DAYS} days, got {str(days)[:20]!r}",
                           code="bad_lifetime")
    return int(text)


def create_api_token(runtime: Runtime, session: Session, user: StaffUser, name: str, *, actor: str,
                     days: int | str | None = None) -> str:
    lifetime = token_days(days)
    token = "sst_" + secrets.token_urlsafe(32)
    expires = runtime.clock.utcnow() + timedelta(days=lifetime)
    session.add(ApiToken(user_id=user.id, name=validation.text(name, "token name", max_len=100),
                         token_hash=runtime.keys.token_hash(token), expires_at=expires))
    session.flush()
    audit.record(runtime, session, actor, "api_token.create", user.email, name=name, days=lifetime)
    return token


@dataclass(frozen=True)
class TokenCheck:
    """The owner of a valid token, or why there is none (``expired_at`` set for an expired token)."""

    user: StaffUser | None
    expired_at: datetime | None = None


def check_token(runtime: Runtime, session: Session, token: str) -> TokenCheck:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == runtime.keys.token_hash(token)))
    if row is None or row.revoked_at is not None or not row.user.active:
        return TokenCheck(None)
    now = runtime.clock.utcnow()
    if as_utc(row.expires_at) <= now:
        return TokenCheck(None, as_utc(row.expires_at))
    row.last_used_at = now
    return TokenCheck(get_user(session, row.user.email))


def renew_api_token(runtime: Runtime, session: Session, row: ApiToken, *, actor: str, days: int | str | None = None) -> None:
    """A live token's new expiry: ``days`` from now (the secret stays the same)."""
    lifetime = token_days(days)
    row.expires_at = runtime.clock.utcnow() + timedelta(days=lifetime)
    row.expiry_warned_at = None
    audit.record(runtime, session, actor, "api_token.renew", row.user.email, name=row.name, days=lifetime)


def warn_expiring_tokens(runtime: Runtime, session: Session) -> int:
    """E-mail each owner of a live token expiring within TOKEN_WARNING (once per expiry); how many were sent."""
    from ..mail import queue

    now = runtime.clock.utcnow()
    rows = session.scalars(select(ApiToken).where(
        ApiToken.revoked_at.is_(None), ApiToken.expires_at > now, ApiToken.expires_at <= now + TOKEN_WARNING,
        ApiToken.expiry_warned_at.is_(None))).all()
    sent = 0
    for row in rows:
        if not row.user.active:
            continue
        day = as_utc(row.expires_at).strftime("%d/%m/%Y")
        subject = "Votre jeton d'API expire bientôt / Your API token expires soon"
        body = (f"Bonjour,\n\nVotre jeton d'API « {row.name} » expire le {day} (UTC). Renouvelez-le dans "
                "Sésame, page « Jetons d'API », pour que vos scripts continuent de fonctionner.\n\n"
                f"Hello,\n\nYour API token \"{row.name}\" expires on {day} (UTC). Renew it in Sésame, "
                "\"API tokens\" page, so that your scripts keep working.\n")
        queue(runtime, session, row.user.email, subject, body)
        row.expiry_warned_at = now
        sent += 1
    return sent
