from datetime import UTC, datetime

import pytest

from broker.domain.memberships import InvalidTransition, apply, next_state
from broker.domain.memberships import MembershipState as S
from broker.domain.memberships import Transition as T

ALLOWED = {
    (None, T.REGISTER): S.PENDING,
    (S.REFUSED, T.REGISTER): S.PENDING,
    (S.CLOSED, T.REGISTER): S.PENDING,
    (S.PENDING, T.APPROVE): S.ACTIVE,
    (S.PENDING, T.REFUSE): S.REFUSED,
    (S.ACTIVE, T.SUSPEND): S.SUSPENDED,
    (S.SUSPENDED, T.REACTIVATE): S.ACTIVE,
    (S.EXPIRED, T.REACTIVATE): S.ACTIVE,
    (S.ACTIVE, T.EXPIRE): S.EXPIRED,
    (S.SUSPENDED, T.EXPIRE): S.EXPIRED,
}


@pytest.mark.parametrize("state", [None, *S])
@pytest.mark.parametrize("transition", list(T))
def test_state_machine(state, transition):
    if transition is T.CLOSE:
        if state in (None, S.CLOSED):
            with pytest.raises(InvalidTransition):
                next_state(state, transition)
        else:
            assert next_state(state, transition) is S.CLOSED
        return
    expected = ALLOWED.get((state, transition))
    if expected is None:
        with pytest.raises(InvalidTransition):
            next_state(state, transition)
    else:
        assert next_state(state, transition) is expected


def test_change_records_who_when_why():
    at = datetime(2026, 1, 2, tzinfo=UTC)
    change = apply(S.ACTIVE, T.SUSPEND, actor="ref@lib", at=at, reason="carte prêtée")
    assert (change.from_state, change.to_state, change.actor, change.at, change.reason) == (
        S.ACTIVE, S.SUSPENDED, "ref@lib", at, "carte prêtée")
