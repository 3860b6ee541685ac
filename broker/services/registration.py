"""Online registration: the SIGB proves the card is the patron's before anything is stored.

The same guards as the login (rate limit per IP, card lockout) apply, since a
registration form is another way to try PINs. A wrong password, a card the
SIGB refuses or an already registered card leave the database untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError

from ..domain.memberships import MembershipState
from ..errors import Conflict, InvalidInput
from . import libraries, memberships, patrons, validation
from .card_check import CardCheckFailure
from .login import CardFormResult, check_fields, find_library, verify_card

if TYPE_CHECKING:
    from ..runtime import Runtime

MAX_EMAIL = 254


class RegistrationOutcome(StrEnum):
    """How a registration ended, besides the refusals of the card (:class:`CardCheckFailure`)."""

    PENDING = "pending"
    ACTIVE = "active"
    #: the card already has a live membership
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class RegistrationResult(CardFormResult[RegistrationOutcome | CardCheckFailure]):
    """What the registration page needs to answer."""

    @property
    def registered(self) -> bool:
        return self.outcome in (RegistrationOutcome.PENDING, RegistrationOutcome.ACTIVE)


def check_registration_fields(library_code: str | None, card: str | None, password: str | None,
                              email: str | None, consent: bool) -> dict[str, str]:
    errors = check_fields(library_code, card, password)
    value = (email or "").strip()
    if not value:
        errors["email"] = "required"
    elif len(value) > MAX_EMAIL:
        errors["email"] = "too_long"
    else:
        try:
            validation.email(value)
        except InvalidInput:
            errors["email"] = "invalid"
    if not consent:
        errors["consent"] = "required"
    return errors


def register(runtime: Runtime, library_code: str | None, card: str | None, password: str | None, email: str | None,
             consent: bool, *, ip: str | None) -> RegistrationResult:
    """Sign a patron up; the membership is pending or active by the library's policy."""
    errors = check_registration_fields(library_code, card, password, email, consent)
    if errors:
        return RegistrationResult(CardCheckFailure.INVALID, errors=errors)
    with runtime.db.session() as session:
        lib = find_library(session, library_code)
    if lib is None:
        return RegistrationResult(CardCheckFailure.INVALID, errors={"library": "unknown"})
    answer = verify_card(runtime, lib, card, password, ip=ip, remember=True)
    if answer.failure is not None:
        return RegistrationResult(answer.failure, library=lib.code, retry_at=answer.retry_at)
    record = answer.record
    problem = record.card_problem(runtime.clock.today())
    if problem is not None:
        return RegistrationResult(CardCheckFailure.CARD_INVALID, library=lib.code, detail=problem.value)
    duplicate = RegistrationResult(RegistrationOutcome.DUPLICATE, library=lib.code)
    try:
        with runtime.db.session() as session:
            lib = libraries.get_library(session, lib.code)
            existing = patrons.find(runtime, session, lib, card)
            if existing is not None and existing.membership is not None and \
                    MembershipState(existing.membership.state) in memberships.LIVE_STATES:
                return duplicate
            membership = memberships.register(runtime, session, lib, card.strip(), record,
                                              email=email.strip(), actor="patron", consent=True)
            state = MembershipState(membership.state)
            uid = membership.patron.uid
            network = lib.partner.network.slug
    except (Conflict, IntegrityError):  # a concurrent registration of the same card won
        return duplicate
    outcome = RegistrationOutcome.ACTIVE if state is MembershipState.ACTIVE else RegistrationOutcome.PENDING
    return RegistrationResult(outcome, uid=uid, library=lib.code, network=network)
