"""Libraries: their connector, registration policy, and what the access decision needs of them."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from ..clock import today
from ..db.models import Library, Partner
from ..domain.access import LibraryFacts
from ..errors import Conflict, InvalidInput, NotFound
from ..sigb import LibraryConnection, validate_connector_settings
from . import audit, validation
from .network import get_partner, partner_active

REGISTRATION_POLICIES = ("referent", "auto")
CARD_CASES = ("upper", "lower", "keep")


def parse_settings(pairs: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``KEY=VALUE`` strings from the command line → a dict (values typed later by the model)."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(f"--set {pair!r}: expected KEY=VALUE")
        out[key.strip()] = value
    return out


def get_library(session: Session, code: str) -> Library:
    lib = session.scalar(
        select(Library).where(Library.code == code).options(
            selectinload(Library.partner).selectinload(Partner.agreements),
            selectinload(Library.partner).selectinload(Partner.network),
        )
    )
    if lib is None:
        raise NotFound(f"unknown library '{code}'")
    return lib


def add_library(runtime, session: Session, code: str, *, name: str, partner: str, connector: str,
                settings: dict[str, str] | None = None, registration: str = "referent", commune: str = "",
                card_case: str = "upper", contact_email: str = "", actor: str = "cli", **extra) -> Library:
    validation.library_code(code)
    name = validation.text(name, "name")
    if registration not in REGISTRATION_POLICIES:
        raise InvalidInput(f"registration {registration!r}: expected referent or auto")
    if card_case not in CARD_CASES:
        raise InvalidInput(f"card_case {card_case!r}: expected upper, lower or keep")
    owner = get_partner(session, partner)
    spec = runtime.sigb.spec(connector)
    public, secret = validate_connector_settings(spec, settings or {})
    if session.scalar(select(Library.id).where(Library.code == code)) is not None:
        raise Conflict(f"library '{code}' already exists")
    lib = Library(
        code=code, name=name, commune=validation.text(commune, "commune", required=False), partner=owner,
        connector=connector, connector_settings=public,
        connector_secrets=runtime.keys.encrypt_json(secret) if secret else None,
        registration=registration, card_case=card_case,
        contact_email=validation.email(contact_email, required=False) or "", **extra,
    )
    session.add(lib)
    session.flush()
    audit.record(runtime, session, actor, "library.add", code, connector=connector, partner=partner)
    return lib


def update_connector(runtime, session: Session, code: str, connector: str, settings: dict[str, str], *,
                     actor: str) -> Library:
    lib = get_library(session, code)
    spec = runtime.sigb.spec(connector)
    public, secret = validate_connector_settings(spec, settings)
    lib.connector = connector
    lib.connector_settings = public
    lib.connector_secrets = runtime.keys.encrypt_json(secret) if secret else None
    session.flush()
    audit.record(runtime, session, actor, "library.connector", code, connector=connector)
    return lib


def connection(lib: Library) -> LibraryConnection:
    return LibraryConnection(
        code=lib.code, connector=lib.connector, settings=lib.connector_settings or {},
        secrets=lib.connector_secrets, card_case=lib.card_case,
        version=f"{lib.connector}:{lib.updated_at.isoformat() if lib.updated_at else ''}",
    )


def facts(lib: Library) -> LibraryFacts:
    return LibraryFacts(code=lib.code, name=lib.name, network=lib.partner.network.slug,
                        partner_active=partner_active(lib.partner, today()))


def search(session: Session, text: str, limit: int = 20) -> list[Library]:
    """Libraries whose name, commune or code contains ``text`` (case-insensitive), across networks."""
    pattern = f"%{text.strip()}%"
    query = select(Library).options(selectinload(Library.partner).selectinload(Partner.network)).order_by(Library.name)
    if text.strip():
        query = query.where(or_(Library.name.ilike(pattern), Library.commune.ilike(pattern), Library.code.ilike(pattern)))
    return list(session.scalars(query.limit(limit)))


def list_libraries(session: Session, network: str | None = None) -> list[Library]:
    query = select(Library).options(selectinload(Library.partner).selectinload(Partner.network)).order_by(Library.code)
    libs = list(session.scalars(query))
    if network:
        libs = [lib for lib in libs if lib.partner.network.slug == network]
    return libs
