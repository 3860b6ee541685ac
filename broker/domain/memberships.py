"""The membership state machine: a patron's registration to the service.

``pending → active | refused``, ``active ⇄ suspended``, ``→ expired`` when the
card or the partner agreement ends, ``→ closed`` when the patron closes their
account. Every change is recorded as a :class:`MembershipChange`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class MembershipState(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    REFUSED = "refused"
    SUSPENDED = "suspended"
    EXPIRED = "expired"
    CLOSED = "closed"


class Transition(StrEnum):
    """What can happen to a membership, named as staff and patrons say it."""

    REGISTER = "register"
    APPROVE = "approve"
    REFUSE = "refuse"
    SUSPEND = "suspend"
    REACTIVATE = "reactivate"
    EXPIRE = "expire"
    CLOSE = "close"


S = MembershipState
_ALLOWED: dict[Transition, tuple[frozenset[MembershipState | None], MembershipState]] = {
    # a refused or closed patron may sign up again; it starts a new review
    Transition.REGISTER: (frozenset({None, S.REFUSED, S.CLOSED}), S.PENDING),
    Transition.APPROVE: (frozenset({S.PENDING}), S.ACTIVE),
    Transition.REFUSE: (frozenset({S.PENDING}), S.REFUSED),
    Transition.SUSPEND: (frozenset({S.ACTIVE}), S.SUSPENDED),
    Transition.REACTIVATE: (frozenset({S.SUSPENDED, S.EXPIRED}), S.ACTIVE),
    Transition.EXPIRE: (frozenset({S.ACTIVE, S.SUSPENDED}), S.EXPIRED),
    Transition.CLOSE: (frozenset({S.PENDING, S.ACTIVE, S.REFUSED, S.SUSPENDED, S.EXPIRED}), S.CLOSED),
}


class InvalidTransition(Exception):
    """The membership is not in a state where this change is possible."""

    def __init__(self, transition: Transition, state: MembershipState | None) -> None:
        self.transition = transition
        self.state = state
        super().__init__(
            f"cannot {transition.value} a membership that is {state.value if state else 'absent'}"
        )


def next_state(state: MembershipState | None, transition: Transition) -> MembershipState:
    """The state after ``transition``, or InvalidTransition."""
    sources, target = _ALLOWED[transition]
    if state not in sources:
        raise InvalidTransition(transition, state)
    return target


@dataclass(frozen=True, slots=True)
class MembershipChange:
    """One line of a membership's history: who changed what, when and why."""

    at: datetime
    actor: str
    transition: Transition
    from_state: MembershipState | None
    to_state: MembershipState
    reason: str = ""


def apply(
    state: MembershipState | None,
    transition: Transition,
    *,
    actor: str,
    at: datetime,
    reason: str = "",
) -> MembershipChange:
    """Check a change against the state machine and describe it for the history."""
    return MembershipChange(
        at=at,
        actor=actor,
        transition=transition,
        from_state=state,
        to_state=next_state(state, transition),
        reason=reason,
    )
