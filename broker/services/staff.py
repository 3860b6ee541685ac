"""Staff accounts (referents and network admins), their roles, passwords and API tokens."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..clock import utcnow
from ..db.models import ApiToken, Library, Network, StaffRole, StaffUser
from ..errors import Conflict, InvalidInput, NotFound
from . import audit, validation

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


def add_staff(runtime, session: Session, email: str, role: str, scope: str, *, name: str = "",
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


def create_api_token(runtime, session: Session, user: StaffUser, name: str, *, actor: str) -> str:
    token = "sst_" + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, name=validation.text(name, "token name", max_len=100),
                         token_hash=runtime.keys.token_hash(token)))
    session.flush()
    audit.record(runtime, session, actor, "api_token.create", user.email, name=name)
    return token


def user_for_token(runtime, session: Session, token: str) -> StaffUser | None:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == runtime.keys.token_hash(token)))
    if row is None or row.revoked_at is not None or not row.user.active:
        return None
    row.last_used_at = utcnow()
    return get_user(session, row.user.email)
