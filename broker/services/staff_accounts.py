"""Staff accounts managed by network admins (and the CLI): invitations, deactivation, password and TOTP resets.

No password is ever chosen, shown or mailed by anyone but its owner: an
invitation (new account or password reset) is a single-use link, valid
``INVITE_HOURS``, to choose one. Only the link's digest is stored. A
deactivated account loses its session and its API tokens at once. The last
active admin of a network cannot be deactivated. Every change is audited with
the values before and after; secrets never appear there.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from ..clock import as_utc
from ..db.admin_models import StaffInvite
from ..db.models import ApiToken, Library, Network, Partner, StaffRole, StaffUser
from ..errors import InvalidInput, NotFound
from . import audit, staff, validation
from .field_errors import FieldError

if TYPE_CHECKING:
    from ..runtime import Runtime

INVITE_HOURS = 72
ROLES = staff.ROLES


@dataclass(frozen=True)
class Invitation:
    user: StaffUser
    link: str
    expires_at: datetime


# -- reading ---------------------------------------------------------------------------------------
def role_scope(role: StaffRole) -> str:
    return role.library.code if role.library is not None else (role.network.slug if role.network else "")


def role_network_id(role: StaffRole) -> int | None:
    if role.network_id is not None:
        return role.network_id
    return role.library.partner.network_id if role.library is not None else None


def accounts_in(session: Session, network_ids) -> list[StaffUser]:
    """Accounts with a role in one of those networks (an admin's, or a referent's of one of its libraries)."""
    ids = list(network_ids)
    if not ids:
        return []
    lib_ids = select(Library.id).join(Partner).where(Partner.network_id.in_(ids))
    user_ids = select(StaffRole.user_id).where(or_(StaffRole.network_id.in_(ids), StaffRole.library_id.in_(lib_ids)))
    return list(session.scalars(select(StaffUser).where(StaffUser.id.in_(user_ids)).options(
        selectinload(StaffUser.roles).selectinload(StaffRole.library).selectinload(Library.partner),
        selectinload(StaffUser.roles).selectinload(StaffRole.network)).order_by(StaffUser.email)))


def within(user: StaffUser, network_ids) -> bool:
    """Every role of ``user`` is in those networks (so an admin of them may manage the account)."""
    nets = {role_network_id(r) for r in user.roles}
    return bool(nets) and nets <= set(network_ids)


def get_account(session: Session, email: str) -> StaffUser:
    user = staff.get_user(session, email) if isinstance(email, str) and len(email) <= 254 else None
    if user is None:
        raise NotFound(f"unknown staff account '{str(email)[:254]}'", code="unknown_account")
    return user


def pending_invite(session: Session, user: StaffUser, now: datetime) -> StaffInvite | None:
    return session.scalar(select(StaffInvite).where(StaffInvite.user_id == user.id, StaffInvite.used_at.is_(None),
                                                    StaffInvite.expires_at > now).order_by(StaffInvite.id.desc()))


# -- invitations -------------------------------------------------------------------------------------
def _scope_of(session: Session, role, scope, network_ids) -> tuple[Library | None, Network | None]:
    if role not in ROLES:
        raise FieldError("role", "bad_role", f"role {role!r}: expected referent or admin")
    scope = scope if isinstance(scope, str) else ""
    if role == "referent":
        lib = session.scalar(select(Library).where(Library.code == scope).options(selectinload(Library.partner)))
        if lib is None or (network_ids is not None and lib.partner.network_id not in network_ids):
            raise FieldError("scope", "bad_scope", f"scope {scope!r}: expected the code of a library")
        return lib, None
    net = session.scalar(select(Network).where(Network.slug == scope))
    if net is None or (network_ids is not None and net.id not in network_ids):
        raise FieldError("scope", "bad_scope", f"scope {scope!r}: expected the slug of a network")
    return None, net


def _new_link(runtime: Runtime, session: Session, user: StaffUser, actor: str) -> Invitation:
    now = runtime.clock.utcnow()
    for old in session.scalars(select(StaffInvite).where(StaffInvite.user_id == user.id,
                                                         StaffInvite.used_at.is_(None))):
        old.used_at = now  # an older link stops working when a new one is sent
    token = "sinv_" + secrets.token_urlsafe(32)
    expires = now + timedelta(hours=INVITE_HOURS)
    session.add(StaffInvite(user_id=user.id, token_hash=runtime.keys.token_hash(token), created_by=actor,
                            expires_at=expires))
    link = f"{runtime.settings.base_url.rstrip('/')}/staff/invite/{token}"
    return Invitation(user, link, expires)


def _mail(runtime: Runtime, session: Session, invitation: Invitation, *, reset: bool) -> None:
    from ..mail import queue

    when = invitation.expires_at.strftime("%d/%m/%Y %H:%M UTC")
    if reset:
        subject = "Sésame : choisissez un nouveau mot de passe"
        intro = "Un administrateur du réseau a réinitialisé le mot de passe de votre compte professionnel Sésame."
    else:
        subject = "Sésame : votre accès à l'espace professionnel"
        intro = "Un administrateur du réseau vous a ouvert un compte dans l'espace professionnel de Sésame."
    body = (f"Bonjour,\n\n{intro}\n\nChoisissez votre mot de passe en ouvrant ce lien (valable une seule fois, "
            f"jusqu'au {when}) :\n\n{invitation.link}\n\nSi vous n'attendiez pas ce message, ignorez-le.\n\n-- \nSésame\n")
    queue(runtime, session, invitation.user.email, subject, body)


def invite(runtime: Runtime, session: Session, email, role, scope, *, actor: str, name: str = "",
           network_ids=None) -> Invitation:
    """A new account with a role, and the link to choose its password e-mailed to it."""
    try:
        address = validation.email(email if isinstance(email, str) else "").lower()
    except InvalidInput as exc:
        raise FieldError("email", "bad_email", exc.message) from None
    existing = staff.get_user(session, address)
    if existing is not None:
        if existing.active:
            raise FieldError("email", "already_active", f"{address}: an active account already exists")
        raise FieldError("email", "inactive", f"{address}: the account is deactivated; reactivate it")
    library, net = _scope_of(session, role, scope, network_ids)
    try:
        clean_name = validation.text(name if isinstance(name, str) else "", "name", required=False)
    except InvalidInput as exc:
        raise FieldError("name", "bad_name", exc.message) from None
    user = StaffUser(email=address, name=clean_name, password_hash=None)
    user.roles.append(StaffRole(role=role, library=library, network=net))
    session.add(user)
    session.flush()
    invitation = _new_link(runtime, session, user, actor)
    _mail(runtime, session, invitation, reset=False)
    audit.record(runtime, session, actor, "staff.invite", address, role=role, scope=scope,
                 expires=invitation.expires_at.isoformat())
    return invitation


def invite_for(runtime: Runtime, session: Session, token: str) -> StaffInvite | None:
    """The invitation behind a link, if it is still usable."""
    if not isinstance(token, str) or not token.startswith("sinv_") or len(token) > 100:
        return None
    row = session.scalar(select(StaffInvite).where(StaffInvite.token_hash == runtime.keys.token_hash(token)))
    if row is None or row.used_at is not None or as_utc(row.expires_at) <= runtime.clock.utcnow():
        return None
    user = session.get(StaffUser, row.user_id)
    return row if user is not None and user.active else None


def accept(runtime: Runtime, session: Session, token: str, password, confirm) -> StaffUser:
    """Set the password chosen through an invitation; the link then stops working."""
    row = invite_for(runtime, session, token)
    if row is None:
        raise InvalidInput("this link is no longer valid", code="invite_invalid")
    password = password if isinstance(password, str) else ""
    if len(password) < 12 or len(password) > 1024:
        raise FieldError("password", "weak_password", "password: at least 12 characters")
    if password != confirm:
        raise FieldError("confirm", "mismatch", "the two passwords differ")
    user = session.get(StaffUser, row.user_id)
    user.password_hash = staff.hash_password(password)
    row.used_at = runtime.clock.utcnow()
    audit.record(runtime, session, user.email, "staff.password.set", user.email, invitation=row.id)
    return user


# -- changes ---------------------------------------------------------------------------------------
def _last_admin_of(session: Session, user: StaffUser) -> Network | None:
    for role in user.roles:
        if role.role != "admin" or role.network_id is None:
            continue
        others = session.scalar(select(func.count(StaffUser.id)).join(StaffRole).where(
            StaffRole.role == "admin", StaffRole.network_id == role.network_id, StaffUser.active.is_(True),
            StaffUser.password_hash.is_not(None), StaffUser.id != user.id)) or 0  # an unused invitation is no admin
        if others == 0:
            return role.network
    return None


def set_active(runtime: Runtime, session: Session, user: StaffUser, active: bool, *, actor: str) -> bool:
    """Deactivate (sessions and API tokens stop at once) or reactivate; False when nothing changes."""
    if not isinstance(active, bool):
        raise FieldError("active", "wrong_type", "active: expected true or false", name="active")
    if user.active == active:
        return False
    revoked = 0
    if not active:
        last = _last_admin_of(session, user)
        if last is not None:
            raise FieldError("active", "last_admin", f"{user.email} is the last active admin of '{last.slug}'",
                             network=last.name)
        now = runtime.clock.utcnow()
        for token in session.scalars(select(ApiToken).where(ApiToken.user_id == user.id,
                                                            ApiToken.revoked_at.is_(None))):
            token.revoked_at = now
            revoked += 1
    user.active = active
    audit.record(runtime, session, actor, "staff.deactivate" if not active else "staff.reactivate", user.email,
                 before={"active": not active}, after={"active": active},
                 **({"tokens_revoked": revoked} if not active else {}))
    return True


def reset_password(runtime: Runtime, session: Session, user: StaffUser, *, actor: str) -> Invitation:
    """The password stops working; a new single-use link to choose one is e-mailed (and returned)."""
    if not user.active:
        raise FieldError("active", "inactive", f"{user.email}: the account is deactivated; reactivate it first")
    had = user.password_hash is not None
    user.password_hash = None
    invitation = _new_link(runtime, session, user, actor)
    _mail(runtime, session, invitation, reset=True)
    audit.record(runtime, session, actor, "staff.password.reset", user.email,
                 before={"password": "***" if had else None}, after={"password": None},
                 expires=invitation.expires_at.isoformat())
    return invitation


def reset_totp(runtime: Runtime, session: Session, user: StaffUser, *, actor: str) -> bool:
    """Forget the account's TOTP secret: an admin enrols again at the next login."""
    if user.totp_secret is None:
        return False
    user.totp_secret = None
    audit.record(runtime, session, actor, "staff.totp.reset", user.email, before={"totp": "***"},
                 after={"totp": None})
    return True


def set_name(runtime: Runtime, session: Session, user: StaffUser, name, *, actor: str) -> bool:
    try:
        clean = validation.text(name if isinstance(name, str) else "", "name", required=False)
    except InvalidInput as exc:
        raise FieldError("name", "bad_name", exc.message) from None
    if clean == user.name:
        return False
    audit.record(runtime, session, actor, "staff.edit", user.email, before={"name": user.name}, after={"name": clean})
    user.name = clean
    return True
