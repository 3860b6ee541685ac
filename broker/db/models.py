"""SQLAlchemy 2.0 models: everything durable.

Card numbers are never stored: a patron is found by ``card_digest`` (a keyed
digest of library + card) and shown by ``card_hint`` (the last four characters).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, _now

if TYPE_CHECKING:
    from .person_models import PersonCard


class Network(Base):
    __tablename__ = "networks"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    scope: Mapped[str] = mapped_column(String(200), default="")
    branding: Mapped[dict[str, Any]] = mapped_column(default=dict)
    contact_email: Mapped[str] = mapped_column(String(254), default="")

    partners: Mapped[list[Partner]] = relationship(back_populates="network")


class Partner(Base):
    """A commune, EPCI or EPIC that signs an agreement and pays the yearly fee."""

    __tablename__ = "partners"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10))
    population: Mapped[int] = mapped_column(Integer)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id"), index=True)

    network: Mapped[Network] = relationship(back_populates="partners")
    agreements: Mapped[list[Agreement]] = relationship(back_populates="partner", order_by="Agreement.start")
    libraries: Mapped[list[Library]] = relationship(back_populates="partner")


class Agreement(Base):
    __tablename__ = "agreements"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date] = mapped_column(Date)
    rate: Mapped[Decimal] = mapped_column(Numeric(8, 4))

    partner: Mapped[Partner] = relationship(back_populates="agreements")


class Library(Base):
    __tablename__ = "libraries"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    commune: Mapped[str] = mapped_column(String(200), default="")
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    connector: Mapped[str] = mapped_column(String(64))
    #: non-secret connector settings, as validated by the connector's settings model
    connector_settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: secret connector settings, encrypted with the instance key (Fernet)
    connector_secrets: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    registration: Mapped[str] = mapped_column(String(16), default="referent")
    card_case: Mapped[str] = mapped_column(String(8), default="upper")
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    contact_phone: Mapped[str] = mapped_column(String(40), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    website: Mapped[str] = mapped_column(String(300), default="")
    #: a disabled library's patrons are refused (``library_disabled``); nothing of it is deleted
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, onupdate=_now)

    partner: Mapped[Partner] = relationship(back_populates="libraries")


class Patron(Base):
    """A person known through one library card. Personal fields are erasable."""

    __tablename__ = "patrons"
    __table_args__ = (UniqueConstraint("library_id", "card_digest"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(40), unique=True)
    library_id: Mapped[int] = mapped_column(ForeignKey("libraries.id"), index=True)
    card_digest: Mapped[str] = mapped_column(String(64))
    card_hint: Mapped[str] = mapped_column(String(8), default="")
    display_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    birth_year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    category: Mapped[str | None] = mapped_column(String(64), nullable=True)
    card_expires: Mapped[date | None] = mapped_column(Date, nullable=True)
    card_problem: Mapped[str | None] = mapped_column(String(16), nullable=True)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    #: any change (a login included): other processes forget their cached copy (services.patron_changes)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, onupdate=_now, index=True)

    library: Mapped[Library] = relationship()
    membership: Mapped[Membership | None] = relationship(back_populates="patron", uselist=False)
    #: the person this card is linked to, if any (``person_models``): loaded with the patron
    person_card: Mapped[PersonCard | None] = relationship(
        "PersonCard", uselist=False, lazy="joined", viewonly=True)


class Membership(Base):
    __tablename__ = "memberships"
    __table_args__ = (Index("ix_memberships_library_state", "library_id", "state"),
                      Index("ix_memberships_updated_at", "updated_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    patron_id: Mapped[int] = mapped_column(ForeignKey("patrons.id"), unique=True)
    library_id: Mapped[int] = mapped_column(ForeignKey("libraries.id"))
    state: Mapped[str] = mapped_column(String(16))
    consent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, onupdate=_now)

    patron: Mapped[Patron] = relationship(back_populates="membership")
    history: Mapped[list[MembershipEvent]] = relationship(
        back_populates="membership", order_by="MembershipEvent.id", cascade="all, delete-orphan"
    )


class MembershipEvent(Base):
    __tablename__ = "membership_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    membership_id: Mapped[int] = mapped_column(ForeignKey("memberships.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    actor: Mapped[str] = mapped_column(String(254))
    transition: Mapped[str] = mapped_column(String(16))
    from_state: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")

    membership: Mapped[Membership] = relationship(back_populates="history")


class LocalPatron(Base):
    """A patron kept in Sésame for libraries whose SIGB has no usable interface."""

    __tablename__ = "local_patrons"
    __table_args__ = (UniqueConstraint("library_id", "card_digest"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    library_id: Mapped[int] = mapped_column(ForeignKey("libraries.id"), index=True)
    card_digest: Mapped[str] = mapped_column(String(64))
    card_hint: Mapped[str] = mapped_column(String(8), default="")
    pin_hash: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    birth_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    category: Mapped[str | None] = mapped_column(String(64), nullable=True)
    expires: Mapped[date | None] = mapped_column(Date, nullable=True)
    blocked: Mapped[str | None] = mapped_column(String(200), nullable=True)


class Supplier(Base):
    __tablename__ = "suppliers"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(32), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    protocol: Mapped[str] = mapped_column(String(16), default="none")
    #: where /go/<slug> sends a patron for OIDC suppliers and those without a protocol yet
    login_url: Mapped[str] = mapped_column(String(500), default="")
    release: Mapped[list[str]] = mapped_column(default=list)
    min_age: Mapped[int | None] = mapped_column(Integer, nullable=True)
    max_age: Mapped[int | None] = mapped_column(Integer, nullable=True)
    saml_entity_id: Mapped[str | None] = mapped_column(String(500), unique=True, nullable=True)
    oidc_client_id: Mapped[str | None] = mapped_column(String(100), unique=True, nullable=True)
    #: protocol details: SAML metadata, OIDC client settings, CAS service patterns…
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, onupdate=_now)

    networks: Mapped[list[Network]] = relationship(secondary="supplier_networks")


class SupplierNetwork(Base):
    """The bundle: which network offers which supplier."""

    __tablename__ = "supplier_networks"

    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"), primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id"), primary_key=True)


class StaffUser(Base):
    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    totp_secret: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)

    roles: Mapped[list[StaffRole]] = relationship(back_populates="user", cascade="all, delete-orphan")


class StaffRole(Base):
    """A role scoped to one library (referent) or one network (admin)."""

    __tablename__ = "staff_roles"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    library_id: Mapped[int | None] = mapped_column(ForeignKey("libraries.id"), nullable=True)
    network_id: Mapped[int | None] = mapped_column(ForeignKey("networks.id"), nullable=True)

    user: Mapped[StaffUser] = relationship(back_populates="roles")
    library: Mapped[Library | None] = relationship()
    network: Mapped[Network | None] = relationship()


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    #: set at creation (at most a year ahead), moved by a renewal
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: when the owner was e-mailed that the token expires soon (once per expiry date)
    expiry_warned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    user: Mapped[StaffUser] = relationship()


class UsageEvent(Base):
    """One access attempt to a supplier, granted or refused; no personal data."""

    __tablename__ = "usage_events"
    __table_args__ = (Index("ix_usage_events_at", "at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    network_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    library_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    supplier_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    patron_key: Mapped[str | None] = mapped_column(String(40), nullable=True)
    protocol: Mapped[str] = mapped_column(String(16), default="")
    outcome: Mapped[str] = mapped_column(String(32))


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    actor: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    outcome: Mapped[str] = mapped_column(String(16), default="ok")


class CryptoKey(Base):
    """Signing and encryption keys, shared by every node; private parts encrypted at rest."""

    __tablename__ = "crypto_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(32), index=True)
    algorithm: Mapped[str] = mapped_column(String(16))
    #: next (published, not yet used) → current (signs) → previous (published) → retired
    status: Mapped[str] = mapped_column(String(16))
    private_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    certificate: Mapped[str] = mapped_column(Text, default="")
    public_jwk: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class StateEntry(Base):
    """The embedded state store: short-lived keys with an expiry (epoch seconds)."""

    __tablename__ = "state_entries"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[float] = mapped_column(Float, index=True)


# every table module is imported here, so that importing this one registers all the tables on Base
# (one import per module, in the order they register their tables: not sorted)
# isort: off
from . import staff_models  # noqa: E402,F401  (registers the staff tables on Base)
from . import stats_models  # noqa: E402,F401  (registers the statistics tables on Base)
from . import secret_models  # noqa: E402,F401  (registers the instance secrets table on Base)
from . import mail_models  # noqa: E402,F401  (registers the e-mail outbox on Base)
from . import admin_models  # noqa: E402,F401  (registers the network administration tables on Base)
from . import person_models  # noqa: E402,F401  (registers the persons tables on Base)
from . import counter_models  # noqa: E402,F401  (registers the COUNTER usage tables on Base)
# isort: on
