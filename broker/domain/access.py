"""The access decision: may this patron reach this supplier now?

Evaluated at every issuance of an assertion, token or ticket. Rules run in a
fixed order and the first refusal wins; plugin policies run last. docs/portal.md
("The access decision") lists the rules in their order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from .memberships import MembershipState
from .patrons import CardProblem


class Reason(StrEnum):
    """Why access was refused; each has a page and a statistics counter."""

    UNKNOWN_SUPPLIER = "unknown_supplier"
    SUPPLIER_DISABLED = "supplier_disabled"
    CREDENTIALS = "credentials"
    SIGB_UNAVAILABLE = "sigb_unavailable"
    CARD_INVALID = "card_invalid"
    NOT_REGISTERED = "not_registered"
    MEMBERSHIP_PENDING = "membership_pending"
    MEMBERSHIP_REFUSED = "membership_refused"
    MEMBERSHIP_SUSPENDED = "membership_suspended"
    MEMBERSHIP_EXPIRED = "membership_expired"
    PARTNER_INACTIVE = "partner_inactive"
    LIBRARY_DISABLED = "library_disabled"
    NOT_IN_BUNDLE = "not_in_bundle"
    AGE = "age"
    POLICY = "policy"


@dataclass(frozen=True, slots=True)
class Refusal:
    """A refusal: a reason code, and for plugin policies their own code and message."""

    reason: Reason | str
    detail: str = ""

    @property
    def code(self) -> str:
        return str(self.reason)


@dataclass(frozen=True, slots=True)
class LibraryFacts:
    code: str
    name: str
    network: str
    partner_active: bool
    #: False when the network has disabled the library (its patrons are refused, nothing is deleted)
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class SupplierFacts:
    slug: str
    networks: frozenset[str]
    min_age: int | None = None
    max_age: int | None = None
    #: False when the network has disabled the supplier (every patron is refused, nothing is deleted)
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class PatronFacts:
    """What the decision needs to know of the patron (never a name or a card)."""

    uid: str
    membership: MembershipState | None
    card_problem: CardProblem | None = None
    birth_year: int | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    refusal: Refusal | None = None
    checks: tuple[str, ...] = field(default=(), compare=False)

    @property
    def granted(self) -> bool:
        return self.refusal is None


GRANTED = Decision()

_MEMBERSHIP_REFUSALS = {
    None: Reason.NOT_REGISTERED,
    MembershipState.PENDING: Reason.MEMBERSHIP_PENDING,
    MembershipState.REFUSED: Reason.MEMBERSHIP_REFUSED,
    MembershipState.SUSPENDED: Reason.MEMBERSHIP_SUSPENDED,
    MembershipState.EXPIRED: Reason.MEMBERSHIP_EXPIRED,
    MembershipState.CLOSED: Reason.NOT_REGISTERED,
}

PolicyCheck = Callable[[], "Refusal | None"]


def age_on(birth_year: int, today: date) -> int:
    """Age in years reached during ``today``'s year: all Sésame keeps is the birth year."""
    return today.year - birth_year


def decide(
    patron: PatronFacts,
    library: LibraryFacts,
    supplier: SupplierFacts | None,
    *,
    today: date,
    policies: Iterable[PolicyCheck] = (),
) -> Decision:
    """Apply the rules in their order (that of docs/portal.md); the first refusal wins.

    ``credentials`` and ``sigb_unavailable`` are decided at the login step and
    never reach here: a patron with a session has passed them. A supplier with
    an age range admits a patron whose birth year is unknown (SIGBs often do
    not send it); a plugin policy can be stricter.
    """
    if supplier is None:
        return Decision(Refusal(Reason.UNKNOWN_SUPPLIER))
    if not supplier.enabled:
        return Decision(Refusal(Reason.SUPPLIER_DISABLED))
    if not library.enabled:
        return Decision(Refusal(Reason.LIBRARY_DISABLED))
    if patron.card_problem is not None:
        return Decision(Refusal(Reason.CARD_INVALID, patron.card_problem.value))
    if patron.membership is not MembershipState.ACTIVE:
        return Decision(Refusal(_MEMBERSHIP_REFUSALS[patron.membership]))
    if not library.partner_active:
        return Decision(Refusal(Reason.PARTNER_INACTIVE))
    if library.network not in supplier.networks:
        return Decision(Refusal(Reason.NOT_IN_BUNDLE))
    if patron.birth_year is not None:
        age = age_on(patron.birth_year, today)
        if (supplier.min_age is not None and age < supplier.min_age) or (
            supplier.max_age is not None and age > supplier.max_age
        ):
            return Decision(Refusal(Reason.AGE))
    for policy in policies:
        refusal = policy()
        if refusal is not None:
            return Decision(refusal)
    return GRANTED
