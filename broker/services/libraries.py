"""Libraries: their connector, registration policy, and what the access decision needs of them."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from ..clock import SYSTEM, Clock
from ..db.models import Agreement, Library, Network, Partner
from ..domain.access import LibraryFacts
from ..errors import Conflict, InvalidInput, NotFound
from ..sigb import LibraryConnection, validate_connector_settings
from ..stamped_cache import StampedCache
from ..wording import sorted_names
from . import audit, validation
from .network import get_partner, partner_active

if TYPE_CHECKING:
    from ..db import Database
    from ..runtime import Runtime

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


def _with_partner():
    """Load options: the partner, its network and its agreements joined (one query)."""
    return (joinedload(Library.partner).joinedload(Partner.network),
            joinedload(Library.partner).joinedload(Partner.agreements))


def _one(session: Session, where) -> Library | None:
    return session.execute(select(Library).where(where).options(*_with_partner())).unique().scalar_one_or_none()


def get_library(session: Session, code: str) -> Library:
    lib = _one(session, Library.code == code)
    if lib is None:
        raise NotFound(f"unknown library '{code}'")
    return lib


def add_library(runtime: Runtime, session: Session, code: str, *, name: str, partner: str, connector: str,
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


def update_connector(runtime: Runtime, session: Session, code: str, connector: str, settings: dict[str, str], *,
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


def set_enabled(runtime: Runtime, session: Session, code: str, enabled: bool, *, actor: str) -> Library:
    """Disable or enable a library: its patrons are refused while disabled; nothing is deleted.

    The change stamp (``updated_at``) moves, so every process's library cache sees it.
    """
    lib = get_library(session, code)
    before = bool(lib.enabled)
    if before != enabled:
        lib.enabled = enabled
        session.flush()
        audit.record(runtime, session, actor, "library.enable" if enabled else "library.disable", code,
                     before={"enabled": before}, after={"enabled": enabled})
    return lib


def connection(lib: Library) -> LibraryConnection:
    return LibraryConnection(
        code=lib.code, connector=lib.connector, settings=lib.connector_settings or {},
        secrets=lib.connector_secrets, card_case=lib.card_case,
        version=f"{lib.connector}:{lib.updated_at.isoformat() if lib.updated_at else ''}",
    )


def facts(lib: Library, today: date) -> LibraryFacts:
    return LibraryFacts(code=lib.code, name=lib.name, network=lib.partner.network.slug,
                        partner_active=partner_active(lib.partner, today), enabled=lib.enabled)


def search(session: Session, text: str, limit: int = 20) -> list[Library]:
    """Libraries whose name, commune or code contains ``text`` (case-insensitive), across networks."""
    pattern = f"%{text.strip()}%"
    query = select(Library).options(selectinload(Library.partner).selectinload(Partner.network)).order_by(Library.name)
    if text.strip():
        query = query.where(or_(Library.name.ilike(pattern), Library.commune.ilike(pattern), Library.code.ilike(pattern)))
    return sorted_names(session.scalars(query.limit(limit)), key=lambda lib: lib.name)


def list_libraries(runtime: Runtime, session: Session, network: str | None = None) -> list[Library]:
    """Every library (of ``network``) by code, with partner and network loaded; read-only rows.

    The login page lists every library: the list is kept per process (see
    :func:`every_library`) instead of being read at each page.
    """
    libs, _ = every_library(runtime, session)
    if network:
        libs = [lib for lib in libs if lib.partner.network.slug == network]
    return libs


# -- a per-process view of libraries for the hot paths ----------------------------------------
#: seconds between two looks at the libraries' change stamp (a change made by another process is seen within that)
RECHECK_SECONDS = 2.0
#: the cached libraries are reloaded at least this often, for changes the stamp cannot see (a network renamed)
MAX_AGE_SECONDS = 300.0
_WATCHED = (Library, Partner, Agreement, Network)


def _stamp(session: Session) -> tuple:
    """What changes when a library is added or updated, or a partner or an agreement added or changed."""
    from ..db.admin_models import AgreementChange

    return tuple(session.execute(select(
        select(func.max(Library.updated_at)).scalar_subquery(),
        select(func.count(Library.id)).scalar_subquery(),
        select(func.count(Agreement.id)).scalar_subquery(),
        select(func.max(Agreement.id)).scalar_subquery(),
        select(func.count(Partner.id)).scalar_subquery(),
        select(func.max(AgreementChange.id)).scalar_subquery(),
    )).one())


def _every_library_query():
    return select(Library).options(selectinload(Library.partner).selectinload(Partner.network)).order_by(Library.code)


def every_library(runtime: Runtime, session: Session) -> tuple[list[Library], object | None]:
    """Every library (read-only rows) and a token that stays the same object until the list is reloaded
    (None when this transaction changed libraries): callers may keep what they derive from the list.
    """
    known = runtime.libraries
    if known.changed_in(session):
        return list(session.scalars(_every_library_query())), None  # this transaction changed libraries
    rows = known.every_library()
    return list(rows), rows


@dataclass
class KnownLibraries:
    """The libraries loaded since the stamp last changed: by id and code as asked, and the full list once read."""

    by_id: dict[int, Library] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)
    everything: tuple[Library, ...] | None = None


class LibraryCache:
    """Libraries with their partner, agreements and network, loaded once and shared by the requests.

    Every issuance needs the patron's library for the access decision and the
    attribute release; reading it with its partner, agreements and network
    cost four queries per request. Cached rows are detached ORM objects with
    those relationships loaded: read them, never add them to a session.
    Invalidation: a change committed in this process empties the cache at
    once; one small query every ``recheck`` seconds compares a stamp of the
    tables (latest library update, agreement and partner counts) to see
    changes made elsewhere; nothing is kept longer than ``max_age`` seconds.
    Whether a partner is active is computed at each decision from the
    cached agreements, so the cache never holds a stale "today".
    """

    def __init__(self, db: Database, *, recheck: float = RECHECK_SECONDS, max_age: float = MAX_AGE_SECONDS,
                 clock: Clock | None = None) -> None:
        self.db = db
        self.clock: Clock = clock or SYSTEM
        self._lock = threading.Lock()
        self.cache: StampedCache[tuple, KnownLibraries] = StampedCache(
            self._read_stamp, lambda _stamp: KnownLibraries(), interval=recheck, max_age=max_age,
            clock=self.clock.monotonic)
        self.cache.invalidate_on_commit(db.sessionmaker, _WATCHED)

    def by_id(self, library_id: int) -> Library | None:
        found = self.cache.get().by_id.get(library_id)
        return found if found is not None else self._load(Library.id == library_id)

    def by_code(self, code: str) -> Library | None:
        known = self.cache.get()
        library_id = known.ids.get(code)
        found = known.by_id.get(library_id) if library_id is not None else None
        return found if found is not None else self._load(Library.code == code)

    def every_library(self) -> tuple[Library, ...]:
        """Every library by code (the same tuple until the libraries change)."""
        known = self.cache.get()
        if known.everything is None:
            with self.db.session() as own:  # rows detached from any caller's session
                rows = tuple(own.scalars(_every_library_query()))
            with self._lock:
                if known.everything is None:
                    known.everything = rows
        return known.everything

    def changed_in(self, session: Session) -> bool:
        """Whether ``session`` holds uncommitted changes to libraries, partners, agreements or networks."""
        return self.cache.changed_in(session)

    def clear(self) -> None:
        self.cache.invalidate()

    def _load(self, where) -> Library | None:
        known = self.cache.get()
        with self.db.session() as s:
            lib = _one(s, where)
        if lib is not None:  # detached now, with everything a decision reads already loaded
            with self._lock:
                known.by_id[lib.id] = lib
                known.ids[lib.code] = lib.id
        return lib

    def _read_stamp(self) -> tuple:
        with self.db.session() as s:
            return _stamp(s)
