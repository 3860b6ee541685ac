"""The patron login use case: card + PIN/password checked by the home library's SIGB.

Guards before the SIGB is asked: the per-address guards of ``services.throttle``
(a flood guard, a sliding-window failure budget with back-off, known cards), and
a temporary lockout of a card after repeated failures. The lockout is keyed by a keyed
digest of (library, card), never the card, and an unknown card, a wrong
password and a locked card all get the same answer, so that nobody learns
from the login page whether a card exists.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from sqlalchemy.orm import Session

from ..clock import as_utc
from ..db.models import Library
from ..domain.connectors import ConnectorUnavailable, InvalidCredentials
from ..domain.patrons import PatronRecord
from ..errors import NotFound
from ..metrics import LOGINS
from . import libraries, patrons
from .card_check import CardCheckFailure
from .patron_changes import PatronView
from .patron_snapshot import PatronSnapshot
from .throttle import LoginThrottle

if TYPE_CHECKING:
    from ..runtime import Runtime

log = logging.getLogger("broker.login")

MAX_CARD = 64
#: the last-login time is recorded to this precision: a patron signing in again within it writes nothing
LAST_LOGIN_PRECISION = timedelta(hours=1)
MAX_PASSWORD = 128
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class LoginOutcome(StrEnum):
    """A login that succeeded; a refused one ends with a :class:`CardCheckFailure`."""

    OK = "ok"


Outcome = TypeVar("Outcome", bound=StrEnum)


@dataclass(frozen=True)
class CardFormResult(Generic[Outcome]):
    """What a page where a patron proves a card (login, registration) needs to answer; ``errors`` maps a form
    field to a problem code."""

    outcome: Outcome
    uid: str | None = None
    library: str | None = None
    network: str | None = None
    detail: str = ""
    errors: dict[str, str] = field(default_factory=dict, hash=False)
    #: the card is locked after too many failures: when (epoch seconds) it may be tried again. Any card
    #: string is locked alike, known to the SIGB or not, so saying it tells nothing about the card
    retry_at: float | None = None


@dataclass(frozen=True)
class LoginResult(CardFormResult[LoginOutcome | CardCheckFailure]):
    """What the login page needs to answer."""

    #: the access decision's snapshot of the patron, for the session (``services.patron_changes``)
    facts: PatronSnapshot | None = field(default=None, hash=False)
    #: RATE_LIMITED: seconds before this address's next attempt is checked
    retry_after: int = 0

    @property
    def ok(self) -> bool:
        return self.outcome is LoginOutcome.OK


# -- input ----------------------------------------------------------------------------
def check_fields(library_code: str | None, card: str | None, password: str | None) -> dict[str, str]:
    """Problems with the three login fields, as ``{field: required|too_long|invalid}``."""
    errors: dict[str, str] = {}
    code = (library_code or "").strip()
    if not code:
        errors["library"] = "required"
    elif not _CODE.match(code):
        errors["library"] = "unknown"
    for name, value, longest in (("card", (card or "").strip(), MAX_CARD), ("password", password or "", MAX_PASSWORD)):
        if not value:
            errors[name] = "required"
        elif len(value) > longest:
            errors[name] = "too_long"
        elif _CONTROL.search(value):
            errors[name] = "invalid"
    return errors


def find_library(session: Session, code: str) -> Library | None:
    try:
        return libraries.get_library(session, code.strip())
    except NotFound:
        return None


# -- guards ---------------------------------------------------------------------------
def guard(runtime: Runtime) -> LoginThrottle:
    """The per-address guards of patron logins and registrations (``services.throttle``)."""
    return LoginThrottle(runtime, "patron")


def lockout_key(runtime: Runtime, lib: Library, card: str) -> str:
    """The state-store key part for a card: a keyed digest of (library, normalised card)."""
    digest, _ = patrons.digest_for(runtime, lib, card)
    return digest


def card_guard_keys(runtime: Runtime, key: str, library: str) -> list[str]:
    """The state-store keys :func:`card_guard` reads: the card's lock and failures, the library's breaker."""
    return [f"login-lock:{key}", f"login-fail:{key}", *runtime.sigb.breaker_keys(library)]


def card_guard(runtime: Runtime, values: Sequence[Any]) -> tuple[float | None, bool, tuple]:
    """(until when the card is locked or None, has it failed lately, the library's breaker state), from the
    values of :func:`card_guard_keys` (read with the address's guards, in one round trip)."""
    lock, failures, *breaker = values
    return lock_end(runtime, lock), failures is not None, tuple(breaker)


def lock_end(runtime: Runtime, lock) -> float | None:
    """The end of a lock entry (a lock written without one ends at the latest a full lockout from now)."""
    if lock is None:
        return None
    until = lock.get("until") if isinstance(lock, dict) else None
    if isinstance(until, (int, float)) and not isinstance(until, bool):
        return float(until)
    return runtime.clock.wall() + runtime.settings.login_lockout_seconds


def record_failure(runtime: Runtime, key: str) -> float | None:
    """One more failure on this card; lock it once the threshold is reached (then: until when)."""
    seconds = runtime.settings.login_lockout_seconds
    failures = runtime.state.incr(f"login-fail:{key}", seconds)
    if failures >= runtime.settings.login_card_failures:
        until = runtime.clock.wall() + seconds
        runtime.state.put(f"login-lock:{key}", {"failures": failures, "until": until}, seconds)
        return until
    return None


def clear_failures(runtime: Runtime, key: str) -> None:
    runtime.state.delete(f"login-fail:{key}")


@dataclass(frozen=True)
class SigbAnswer:
    """The SIGB's answer to card + secret, after the guards."""

    #: None: the SIGB accepted the card and its password (``record`` is its answer)
    failure: CardCheckFailure | None = None
    record: PatronRecord | None = None
    #: the card was locked: the SIGB was not asked
    locked: bool = False
    #: RATE_LIMITED: seconds before this address's next attempt is checked
    retry_after: int = 0
    #: the card is locked (now or by this failure) until then, epoch seconds
    retry_at: float | None = None


def verify_card(runtime: Runtime, lib: Library, card: str, password: str, *, ip: str | None,
                remember: bool = False) -> SigbAnswer:
    """Ask the library's SIGB, honouring the address's guards and the card lockout (login and registration).

    ``remember``: keep the SIGB's answer in the lookup cache (registration: the referent looks it up next).
    """
    key = lockout_key(runtime, lib, card)
    address = guard(runtime)
    verdict = address.check(ip, key, also=card_guard_keys(runtime, key, lib.code))
    if not verdict.allowed:
        return SigbAnswer(CardCheckFailure.RATE_LIMITED, retry_after=verdict.retry_after)
    locked_until, failed_lately, breaker = card_guard(runtime, verdict.also)
    if locked_until is not None:
        address.failed(ip, key)  # a guess on a locked card still spends the address's budget
        return SigbAnswer(CardCheckFailure.CREDENTIALS, locked=True, retry_at=locked_until)
    try:
        record = runtime.sigb.authenticate(libraries.connection(lib), card.strip(), password,
                                           remember=remember, breaker=breaker)
    except InvalidCredentials:
        retry_at = record_failure(runtime, key)
        address.failed(ip, key)
        return SigbAnswer(CardCheckFailure.CREDENTIALS, retry_at=retry_at)
    except ConnectorUnavailable as exc:
        log.warning("SIGB unavailable at login", extra={"event": {"library": lib.code, "error": type(exc).__name__}})
        return SigbAnswer(CardCheckFailure.SIGB_UNAVAILABLE)
    except Exception as exc:  # a faulty connector plugin must not turn a login into a crash
        log.error("connector failed at login", extra={"event": {"library": lib.code, "error": type(exc).__name__}})
        return SigbAnswer(CardCheckFailure.SIGB_UNAVAILABLE)
    if failed_lately:
        clear_failures(runtime, key)
    address.succeeded(ip, key, verdict)
    return SigbAnswer(record=record)


def _finish(outcome: LoginOutcome | CardCheckFailure, metric: str | None = None, **kw) -> LoginResult:
    LOGINS.labels(metric or outcome.value).inc()
    return LoginResult(outcome, **kw)


# -- the use case ---------------------------------------------------------------------
def login(runtime: Runtime, library_code: str | None, card: str | None, password: str | None, *,
          ip: str | None) -> LoginResult:
    """Check a patron's card and password; on success the patron row is refreshed from the SIGB."""
    errors = check_fields(library_code, card, password)
    if errors:
        return _finish(CardCheckFailure.INVALID, errors=errors)
    lib = runtime.libraries.by_code((library_code or "").strip())  # read-only, shared by requests
    if lib is None:
        return _finish(CardCheckFailure.INVALID, errors={"library": "unknown"})
    answer = verify_card(runtime, lib, card, password, ip=ip)
    if answer.failure is not None:
        return _finish(answer.failure, "locked" if answer.locked else None, library=lib.code,
                       retry_after=answer.retry_after, retry_at=answer.retry_at)
    record = answer.record
    with runtime.db.session() as session:
        runtime.patron_changes.revalidate(session)  # so that this process can vouch for the snapshot
        read_at = runtime.clock.wall()
        network = lib.partner.network.slug
        patron = patrons.find(runtime, session, lib, card, history=False)
        problem = record.card_problem(runtime.clock.today())
        registered = patron is not None and patron.membership is not None and patron.erased_at is None
        if patron is not None:
            patrons.refresh(patron, record, runtime.clock.today())
            now = runtime.clock.utcnow()
            if problem is None and registered and (
                    patron.last_login_at is None or as_utc(patron.last_login_at) <= now - LAST_LOGIN_PRECISION):
                patron.last_login_at = now
            # a login that changes nothing writes nothing: the row's change stamp stays, and with it every
            # process's snapshot of the patron; what it does write comes back from the SIGB at the next login
            if session.is_modified(patron):
                runtime.db.without_waiting_for_disk(session)
        if problem is not None:
            return _finish(CardCheckFailure.CARD_INVALID, library=lib.code, network=network, detail=problem.value)
        if not registered:
            return _finish(CardCheckFailure.NOT_REGISTERED, library=lib.code, network=network)
        uid = patron.uid
    # committed: the snapshot reflects this login's own change, so later decisions need no read
    facts = PatronView.of(patron).snapshot(read_at)
    return _finish(LoginOutcome.OK, uid=uid, library=lib.code, network=network, facts=facts)
