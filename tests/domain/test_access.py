"""The access decision (docs/portal.md): every rule alone, in combination, and the order they run in."""

from __future__ import annotations

import itertools
from datetime import date

import pytest

from broker.domain.access import (
    GRANTED,
    Decision,
    LibraryFacts,
    PatronFacts,
    Reason,
    Refusal,
    SupplierFacts,
    age_on,
    decide,
)
from broker.domain.memberships import MembershipState as S
from broker.domain.patrons import CardProblem

TODAY = date(2026, 6, 15)


def patron(membership=S.ACTIVE, card_problem=None, birth_year=1990) -> PatronFacts:
    return PatronFacts(uid="u1", membership=membership, card_problem=card_problem, birth_year=birth_year)


def library(active=True, network="calvados") -> LibraryFacts:
    return LibraryFacts(code="FR-1", name="Médiathèque", network=network, partner_active=active)


def supplier(networks=("calvados",), min_age=None, max_age=None) -> SupplierFacts:
    return SupplierFacts(slug="cafeyn", networks=frozenset(networks), min_age=min_age, max_age=max_age)


def run(p=None, lib=None, sup="default", policies=()) -> Decision:
    return decide(p or patron(), lib or library(), supplier() if sup == "default" else sup, today=TODAY,
                  policies=policies)


def reason(decision: Decision) -> str:
    return "granted" if decision.granted else decision.refusal.code


# -- each rule alone --------------------------------------------------------------------
def test_everything_in_order_is_granted():
    decision = run()
    assert decision.granted and decision == GRANTED and decision.refusal is None


def test_unknown_supplier():
    assert reason(run(sup=None)) == "unknown_supplier"


@pytest.mark.parametrize("problem", list(CardProblem))
def test_card_invalid_keeps_the_problem_as_detail(problem):
    decision = run(patron(card_problem=problem))
    assert decision.refusal == Refusal(Reason.CARD_INVALID, problem.value)


@pytest.mark.parametrize("state, expected", [
    (None, Reason.NOT_REGISTERED),
    (S.PENDING, Reason.MEMBERSHIP_PENDING),
    (S.REFUSED, Reason.MEMBERSHIP_REFUSED),
    (S.SUSPENDED, Reason.MEMBERSHIP_SUSPENDED),
    (S.EXPIRED, Reason.MEMBERSHIP_EXPIRED),
    (S.CLOSED, Reason.NOT_REGISTERED),
])
def test_every_membership_state_but_active_is_refused(state, expected):
    assert run(patron(membership=state)).refusal == Refusal(expected)


def test_partner_without_agreement_in_force():
    assert reason(run(lib=library(active=False))) == "partner_inactive"


def test_supplier_not_in_the_patrons_network():
    assert reason(run(sup=supplier(networks=("caen-la-mer",)))) == "not_in_bundle"
    assert reason(run(sup=supplier(networks=()))) == "not_in_bundle"
    assert reason(run(sup=supplier(networks=("caen-la-mer", "calvados")))) == "granted"


@pytest.mark.parametrize("birth_year, min_age, max_age, expected", [
    (2014, 12, None, "granted"),   # 12 this year: admitted
    (2015, 12, None, "age"),       # 11 this year
    (2014, 3, 12, "granted"),
    (2013, 3, 12, "age"),          # 13 this year
    (2023, 3, 12, "granted"),      # 3 this year
    (2024, 3, 12, "age"),          # 2 this year
    (1950, None, None, "granted"),
    (None, 12, 18, "granted"),     # unknown birth year: a plugin may be stricter
])
def test_age_range_bounds_are_inclusive(birth_year, min_age, max_age, expected):
    decision = run(patron(birth_year=birth_year), sup=supplier(min_age=min_age, max_age=max_age))
    assert reason(decision) == expected


def test_age_is_counted_on_the_birth_year_only():
    assert age_on(2000, date(2026, 1, 1)) == 26
    assert age_on(2000, date(2026, 12, 31)) == 26


def test_plugin_policy_refuses_last():
    seen = []

    def refuse():
        seen.append("called")
        return Refusal("subscriber_only", "Réservé aux abonnés")

    decision = run(policies=[refuse])
    assert decision.refusal == Refusal("subscriber_only", "Réservé aux abonnés")
    assert decision.refusal.code == "subscriber_only"
    assert seen == ["called"]


def test_policies_that_pass_let_access_through_and_the_first_refusal_wins():
    calls = []

    def ok():
        calls.append("ok")
        return None

    def first():
        calls.append("first")
        return Refusal(Reason.POLICY, "one")

    def second():  # pragma: no cover - must not run
        calls.append("second")
        return Refusal(Reason.POLICY, "two")

    assert run(policies=[ok]).granted
    assert run(policies=[ok, first, second]).refusal.detail == "one"
    assert calls == ["ok", "ok", "first"]


def test_policies_are_not_asked_when_a_built_in_rule_refused():
    def must_not_run():  # pragma: no cover
        raise AssertionError("policy ran after a refusal")

    assert reason(run(patron(membership=S.PENDING), policies=[must_not_run])) == "membership_pending"


def test_policies_can_be_a_generator():
    def policies():
        yield lambda: None
        yield lambda: Refusal(Reason.POLICY)

    assert reason(run(policies=policies())) == "policy"


# -- combinations and order -------------------------------------------------------------
ORDER = ["unknown_supplier", "card_invalid", "membership", "partner_inactive", "not_in_bundle", "age", "policy"]


def _case(failing: set[str]):
    p = patron(membership=S.SUSPENDED if "membership" in failing else S.ACTIVE,
               card_problem=CardProblem.BLOCKED if "card_invalid" in failing else None,
               birth_year=2020 if "age" in failing else 1990)
    lib = library(active="partner_inactive" not in failing)
    sup = None if "unknown_supplier" in failing else supplier(
        networks=("other",) if "not_in_bundle" in failing else ("calvados",),
        min_age=18 if "age" in failing else None)
    policies = [lambda: Refusal(Reason.POLICY)] if "policy" in failing else []
    return p, lib, sup, policies


@pytest.mark.parametrize("failing", [
    frozenset(c) for n in range(1, len(ORDER) + 1) for c in itertools.combinations(ORDER, n)
], ids=lambda f: "+".join(sorted(f, key=ORDER.index)))
def test_the_first_failing_rule_in_design_order_wins(failing):
    p, lib, sup, policies = _case(set(failing))
    decision = decide(p, lib, sup, today=TODAY, policies=policies)
    first = min(failing, key=ORDER.index)
    expected = "membership_suspended" if first == "membership" else first
    assert reason(decision) == expected


def test_membership_states_against_each_later_rule():
    for state, later in itertools.product([None, *S], ["partner_inactive", "not_in_bundle", "age", "policy"]):
        p = patron(membership=state, birth_year=2020 if later == "age" else 1990)
        lib = library(active=later != "partner_inactive")
        sup = supplier(networks=("other",) if later == "not_in_bundle" else ("calvados",),
                       min_age=18 if later == "age" else None)
        policies = [lambda: Refusal(Reason.POLICY)] if later == "policy" else []
        decision = decide(p, lib, sup, today=TODAY, policies=policies)
        if state is S.ACTIVE:
            assert reason(decision) == later
        else:
            assert reason(decision) in {"not_registered", f"membership_{state}"}, (state, later)


def test_refusal_code_is_the_reason_string():
    assert Refusal(Reason.AGE).code == "age"
    assert Refusal("custom").code == "custom"
    assert Decision(Refusal(Reason.AGE), checks=("a",)) == Decision(Refusal(Reason.AGE))


# -- a library disabled by its network ----------------------------------------------------
def disabled_library() -> LibraryFacts:
    return LibraryFacts(code="FR-1", name="Médiathèque", network="calvados", partner_active=True, enabled=False)


def test_a_disabled_library_refuses_its_patrons():
    assert reason(run(lib=disabled_library())) == "library_disabled"


def test_library_disabled_comes_before_the_patron_rules():
    """A disabled library says so first: its pending or refused patrons learn why, not their own state."""
    for p in (patron(S.PENDING), patron(None), patron(card_problem=CardProblem.EXPIRED), patron(S.SUSPENDED)):
        assert reason(run(p, lib=disabled_library())) == "library_disabled"
    assert reason(run(sup=None, lib=disabled_library())) == "unknown_supplier"


# -- a supplier disabled by the network -----------------------------------------------------
def test_a_disabled_supplier_refuses_every_patron_first():
    """Nothing about the patron or the library is said: the resource is suspended for everyone."""
    off = SupplierFacts(slug="cafeyn", networks=frozenset({"calvados"}), enabled=False)
    for p in (patron(), patron(S.PENDING), patron(card_problem=CardProblem.EXPIRED)):
        assert reason(run(p, sup=off)) == "supplier_disabled"
    assert reason(run(sup=off, lib=disabled_library())) == "supplier_disabled"
    assert reason(run()) == "granted"
