"""Talking to libraries' SIGBs: connector settings, circuit breakers and the lookup cache.

Every connector is wrapped the same way: a per-library circuit breaker whose
state lives in the state store (so every worker and node sees it), and a short
cache of successful lookups (never of secrets, never keyed by the card number).

While a library's calls are failing, they also wait for its SIGB one at a time
across the cluster: a call that finds another one waiting is refused at once
instead of holding a second worker for the whole connector timeout (after a
single failure, only when that other call has been unanswered for more than
``SLOW_CALL_SECONDS``: a SIGB that failed once may be answering again). A SIGB
that stops answering then holds at most one worker until its breaker opens, and
the other libraries keep every other one.
"""

from __future__ import annotations

import inspect
import threading
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, SecretStr, ValidationError
from sqlalchemy import select

from .clock import SYSTEM, Clock
from .crypto import InstanceKeys
from .domain.connectors import (
    Connector,
    ConnectorContext,
    ConnectorSpec,
    ConnectorUnavailable,
    Health,
    LocalPatronEntry,
    LocalPatronStore,
)
from .domain.identifiers import card_digest
from .domain.patrons import PatronRecord, normalize_card
from .errors import BrokerError, InvalidInput
from .state import StateStore, StateUnavailable

if TYPE_CHECKING:
    from .db import Database


#: while a library's calls fail, a call still unanswered after this long makes the next ones give up at once
SLOW_CALL_SECONDS = 0.5


@dataclass
class LibraryConnection:
    """What the gateway needs to know of a library to reach its SIGB."""

    code: str
    connector: str
    settings: dict[str, Any]
    #: the secret settings, encrypted (kept out of the repr all the same)
    secrets: bytes | None = field(repr=False)
    card_case: str
    version: str


def _secret_fields(model: type[BaseModel]) -> set[str]:
    return {name for name, f in model.model_fields.items() if f.annotation in (SecretStr, SecretStr | None)}


def validate_connector_settings(spec: ConnectorSpec, raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Check settings with the connector's model; return (public, secret) parts as plain values."""
    try:
        model = spec.settings_model.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            key = ".".join(str(p) for p in error["loc"]) or "settings"
            problems.append(f"setting '{key}': {error['msg']}")
        raise InvalidInput(f"connector {spec.name}: " + "; ".join(problems)) from None
    secret_names = _secret_fields(spec.settings_model)
    public: dict[str, Any] = {}
    secret: dict[str, Any] = {}
    for name, value in model.model_dump(mode="json").items():
        if name in secret_names:
            real = getattr(model, name)
            if real is not None:
                secret[name] = real.get_secret_value()
        else:
            public[name] = value
    return public, secret


class DatabaseLocalPatrons:
    """The :class:`LocalPatronStore` of the ``local`` connector: the ``local_patrons`` table."""

    def __init__(self, db: Database, keys: InstanceKeys) -> None:
        self.db = db
        self.keys = keys

    def find(self, library_code: str, card: str) -> LocalPatronEntry | None:
        from .db.models import Library, LocalPatron

        digest = card_digest(self.keys.cards, library_code, card)
        try:
            with self.db.session() as session:
                row = session.scalar(
                    select(LocalPatron).join(Library, Library.id == LocalPatron.library_id).where(
                        Library.code == library_code, LocalPatron.card_digest == digest)
                )
        except Exception as exc:  # the database is this connector's SIGB
            raise ConnectorUnavailable(f"local patron store unavailable: {type(exc).__name__}") from exc
        if row is None:
            return None
        return LocalPatronEntry(pin_hash=row.pin_hash, name=row.name, email=row.email, birth_date=row.birth_date,
                                category=row.category, expires=row.expires, blocked=row.blocked)

    def ping(self) -> None:
        self.db.ping()


class SigbGateway:
    """The one way Sésame calls a SIGB."""

    def __init__(self, specs: dict[str, ConnectorSpec], state: StateStore, keys: InstanceKeys, *,
                 breaker_failures: int = 5, breaker_reset: int = 30, cache_seconds: int = 300,
                 local_patrons: LocalPatronStore | None = None, clock: Clock | None = None) -> None:
        self.specs = specs
        self.clock: Clock = clock or SYSTEM
        self.state = state
        self.keys = keys
        self.breaker_failures = breaker_failures
        self.breaker_reset = breaker_reset
        self.cache_seconds = cache_seconds
        #: handed to connectors through their :class:`ConnectorContext`
        self.local_patrons = local_patrons
        self._connectors: dict[str, tuple[str, Connector]] = {}
        self._lock = threading.Lock()

    def spec(self, name: str) -> ConnectorSpec:
        try:
            return self.specs[name]
        except KeyError:
            known = ", ".join(sorted(self.specs)) or "none"
            raise InvalidInput(f"unknown connector type '{name}' (installed: {known})") from None

    def connector(self, lib: LibraryConnection) -> Connector:
        """The connector of a library, built once per process and per settings version."""
        cached = self._connectors.get(lib.code)
        if cached and cached[0] == lib.version:
            return cached[1]
        with self._lock:
            cached = self._connectors.get(lib.code)
            if cached and cached[0] == lib.version:
                return cached[1]
            spec = self.spec(lib.connector)
            raw = dict(lib.settings)
            raw.update(self.keys.decrypt_json(lib.secrets))
            settings = spec.settings_model.model_validate(raw)
            factory_params = inspect.signature(spec.factory).parameters
            if "context" in factory_params:
                conn = spec.factory(settings, context=ConnectorContext(lib.code, self.local_patrons, self.clock))
            else:
                conn = spec.factory(settings)
            old = self._connectors.get(lib.code)
            self._connectors[lib.code] = (lib.version, conn)
        if old is not None and hasattr(old[1], "close"):
            old[1].close()
        return conn

    def normalize(self, lib: LibraryConnection, card: str) -> str:
        return normalize_card(card, case=lib.card_case)

    # -- circuit breaker -------------------------------------------------------------
    @staticmethod
    def breaker_keys(code: str) -> list[str]:
        """The state-store keys of a library's breaker, for a caller reading them with its own keys."""
        return [f"breaker:{code}", f"breaker-fail:{code}"]

    def _breaker_allows(self, code: str, known: tuple | None = None) -> tuple[bool, int]:
        """(may the call go through, how many calls failed lately) in one round trip while the breaker is closed.

        ``known``: the values of :meth:`breaker_keys` when the caller has read them already.
        """
        opened, failures = known if known is not None else self.state.get_many(self.breaker_keys(code))
        failures = failures if isinstance(failures, int) else (0 if failures is None else 1)
        if opened is None:
            return True, failures
        # half-open: one probe per reset period goes through
        return self.state.add(f"breaker-probe:{code}", {}, self.breaker_reset), max(failures, self.breaker_failures)

    def _record_failure(self, code: str) -> None:
        failures = self.state.incr(f"breaker-fail:{code}", max(self.breaker_reset * 4, 60))
        if failures >= self.breaker_failures:
            self.state.put(f"breaker:{code}", {"failures": failures}, self.breaker_reset * 20)
            self.state.add(f"breaker-probe:{code}", {}, self.breaker_reset)

    def _record_success(self, code: str) -> None:
        self.state.delete(f"breaker-fail:{code}", f"breaker:{code}")

    def _wait_in_turn(self, code: str, failures: int) -> str | None:
        """The key of the turn taken to call a failing SIGB (None: no turn taken); refuses while another waits."""
        key, now = f"sigb-waiting:{code}", self.clock.wall()
        try:
            if self.state.add(key, {"at": now}, self.breaker_reset):
                return key
            held = self.state.get(key) if failures < 2 else None
        except StateUnavailable:
            return None
        if failures < 2:
            started = held.get("at") if isinstance(held, dict) else None
            if not isinstance(started, (int, float)) or now - started <= SLOW_CALL_SECONDS:
                return None  # one failure, and the other call is recent: the SIGB may well be answering
        raise ConnectorUnavailable(f"library {code}: an earlier call to its SIGB is still unanswered")

    def _guarded(self, lib: LibraryConnection, call, breaker: tuple | None = None):
        try:
            allowed, failures = self._breaker_allows(lib.code, breaker)
        except StateUnavailable:
            allowed, failures = True, 0  # the breaker is an optimisation; the SIGB call keeps its own timeout
        if not allowed:
            raise ConnectorUnavailable(f"circuit breaker open for library {lib.code}")
        turn = self._wait_in_turn(lib.code, failures) if failures else None
        try:
            result = call()
        except ConnectorUnavailable:
            self._record_failure(lib.code)
            raise
        finally:
            if turn is not None:
                try:
                    self.state.delete(turn)
                except StateUnavailable:
                    pass  # it expires with the breaker's reset period
        if failures:  # a success closes the breaker and forgets the failures
            self._record_success(lib.code)
        return result

    # -- calls -----------------------------------------------------------------------
    def authenticate(self, lib: LibraryConnection, card: str, secret: str, *, remember: bool = True,
                     breaker: tuple | None = None) -> PatronRecord:
        """Card + secret checked by the SIGB; ``remember``: keep the answer for lookups (a registration
        whose referent will look the card up soon), not worth it for a registered patron's login.
        ``breaker``: the values of :meth:`breaker_keys`, when the caller read them with its own."""
        card = self.normalize(lib, card)
        conn = self.connector(lib)
        record = self._guarded(lib, lambda: conn.authenticate(card, secret), breaker)
        if remember:
            self._cache_put(lib, card, record)
        return record

    def lookup(self, lib: LibraryConnection, card: str, *, use_cache: bool = True) -> PatronRecord | None:
        card = self.normalize(lib, card)
        if use_cache:
            cached = self._cache_get(lib, card)
            if cached is not None:
                return cached
        conn = self.connector(lib)
        record = self._guarded(lib, lambda: conn.lookup(card))
        if record is not None:
            self._cache_put(lib, card, record)
        return record

    def check(self, lib: LibraryConnection) -> Health:
        return self.connector(lib).check()

    # -- lookup cache (never secrets; keyed by a digest, the card is not stored) ------
    def _cache_key(self, lib: LibraryConnection, card: str) -> str:
        return f"sigb-cache:{card_digest(self.keys.cards, lib.code, card)}"

    def _cache_put(self, lib: LibraryConnection, card: str, record: PatronRecord) -> None:
        if self.cache_seconds <= 0:
            return
        data = asdict(record)
        data.pop("card")
        for k in ("birth_date", "expires"):
            if data[k] is not None:
                data[k] = data[k].isoformat()
        try:
            # names, e-mails and birth dates are personal data: encrypted like other data at rest
            self.state.put(self._cache_key(lib, card), {"sealed": self.keys.encrypt_json(data).decode()},
                           self.cache_seconds)
        except StateUnavailable:
            pass

    def _cache_get(self, lib: LibraryConnection, card: str) -> PatronRecord | None:
        try:
            data = self.state.get(self._cache_key(lib, card))
        except StateUnavailable:
            return None
        if data is None:
            return None
        try:
            data = self.keys.decrypt_json(data["sealed"].encode())
        except (KeyError, AttributeError, BrokerError):
            return None
        for k in ("birth_date", "expires"):
            if data.get(k):
                data[k] = date.fromisoformat(data[k])
        return PatronRecord(card=card, **data)

    def close(self) -> None:
        for _, conn in self._connectors.values():
            if hasattr(conn, "close"):
                conn.close()
        self._connectors.clear()
