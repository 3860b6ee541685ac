"""The per-address login guards (services.throttle) under a controlled clock: no test sleeps."""

from __future__ import annotations

import logging

import pytest

from broker.services.throttle import ALARMS, LoginThrottle
from broker.testing import MovableClock

IP = "203.0.113.7"
SETTINGS = {"login_ip_failures": 5, "login_ip_window": 86_400, "login_ip_max_delay": 60, "login_ip_limit": 10_000,
            "login_alarm_cards": 10_000}


@pytest.fixture
def clock():
    """The apps' clock, standing still at a round time until a test moves it."""
    return MovableClock(at=1_000_000.0)


@pytest.fixture(params=["sql", "redis"])
def throttle(request, make_app, clock):
    settings = dict(SETTINGS)
    if request.param == "redis":
        settings["redis_url"] = request.getfixturevalue("redis_url")
    app = make_app(clock=clock, **settings)
    return LoginThrottle(app.extensions["broker"], "patron")


def spray(throttle, clock, n: int, *, step: float = 0.0, ip: str = IP) -> int:
    """``n`` attempts on new cards, each wrong, ``step`` seconds apart; how many were checked."""
    checked = 0
    for i in range(n):
        if throttle.check(ip, f"card-{i}").allowed:
            checked += 1
            throttle.failed(ip, f"card-{i}")
        clock.advance(step)
    return checked


def test_the_budget_then_a_doubling_wait(throttle, clock):
    assert spray(throttle, clock, 5) == 5  # within the budget nothing waits
    waits = []
    for _ in range(8):
        verdict = throttle.check(IP, "next-card")
        assert not verdict.allowed
        waits.append(verdict.retry_after)
        clock.advance(verdict.retry_after)
        assert throttle.check(IP, "next-card").allowed  # once the wait is over, one attempt is checked
        throttle.failed(IP, "next-card")
        assert not throttle.check(IP, "another").allowed  # and only one
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60]  # doubling, up to login_ip_max_delay


def test_the_window_slides_without_resetting_at_a_boundary(make_app, clock):
    app = make_app(clock=clock, **{**SETTINGS, "login_ip_window": 100})
    throttle = LoginThrottle(app.extensions["broker"], "patron")
    clock.move_to(1_000_090.0)  # 10 s before a bucket boundary of the 100 s window
    assert spray(throttle, clock, 5) == 5
    clock.move_to(1_000_101.0)  # just past the boundary: the failures are still counted
    verdict = throttle.check(IP, "x")
    assert verdict.allowed and verdict.slot  # over the budget still: only the address's one slot
    assert not throttle.check(IP, "y").allowed
    clock.move_to(1_000_300.0)  # all of them out of the window: the budget is back
    for i in range(4):
        verdict = throttle.check(IP, f"z{i}")
        assert verdict.allowed and not verdict.slot
        throttle.failed(IP, f"z{i}")


def test_successes_do_not_spend_the_budget(throttle, clock):
    for i in range(50):
        assert throttle.check(IP, f"good-{i}").allowed
        throttle.succeeded(IP, f"good-{i}")
    assert spray(throttle, clock, 5) == 5  # the whole budget is still there


def test_a_spraying_run_is_slowed_to_a_crawl(throttle, clock):
    """One address trying a new card every 0.2 s for an hour: the budget, then one guess a minute at most."""
    checked = spray(throttle, clock, 18_000, step=0.2)
    assert checked <= 5 + 3600 / 60 + 8  # the budget, the doubling ramp, then one per login_ip_max_delay
    assert checked >= 5


def test_a_known_card_gets_in_at_once_behind_an_attacked_address(throttle, clock):
    throttle.succeeded(IP, "patron-card")  # the patron signed in from the library's computers before
    spray(throttle, clock, 200, step=0.1)
    assert not throttle.check(IP, "attacker-card").allowed
    verdict = throttle.check(IP, "patron-card")
    assert verdict.allowed and verdict.retry_after == 0
    throttle.succeeded(IP, "patron-card", verdict)
    assert not throttle.check(IP, "attacker-card").allowed  # the known patron's success frees nothing


def test_a_new_patron_waits_at_most_the_longest_delay(throttle, clock):
    spray(throttle, clock, 200, step=0.1)
    verdict = throttle.check(IP, "first-time-card")
    assert not verdict.allowed and verdict.retry_after <= SETTINGS["login_ip_max_delay"]
    clock.advance(verdict.retry_after)
    verdict = throttle.check(IP, "first-time-card")
    assert verdict.allowed and verdict.slot
    throttle.succeeded(IP, "first-time-card", verdict)
    assert throttle.check(IP, "next").allowed  # the right PIN gave the slot back


def test_other_addresses_are_not_affected(throttle, clock):
    spray(throttle, clock, 100)
    assert not throttle.check(IP, "x").allowed
    assert throttle.check("198.51.100.9", "x").allowed


def test_the_flood_guard_counts_every_attempt_in_a_sliding_minute(make_app, clock):
    app = make_app(clock=clock, **{**SETTINGS, "login_ip_limit": 3})
    throttle = LoginThrottle(app.extensions["broker"], "patron")
    clock.move_to(1_000_050.0)
    for i in range(3):
        assert throttle.check(IP, f"c{i}").allowed
        throttle.succeeded(IP, f"c{i}")
    assert not throttle.check(IP, "c9").allowed
    clock.move_to(1_000_061.0)  # next minute bucket, but the last 60 s still hold the attempts
    assert not throttle.check(IP, "c9").allowed


def test_the_alarm_when_many_cards_fail_together(make_app, clock, caplog):
    from sqlalchemy import select

    from broker.db.models import AuditEvent

    app = make_app(clock=clock, **{**SETTINGS, "login_alarm_cards": 10})
    runtime = app.extensions["broker"]
    throttle = LoginThrottle(runtime, "patron")
    before = ALARMS.labels("patron")._value.get()
    caplog.set_level(logging.WARNING, logger="broker.security")
    for i in range(9):  # nine cards, from nine addresses, each failing many times: no alarm yet
        for _ in range(3):
            throttle.failed(f"198.51.100.{i}", f"card-{i}")
    assert ALARMS.labels("patron")._value.get() == before
    for i in range(9, 30):
        throttle.failed(f"198.51.100.{i}", f"card-{i}")
    assert ALARMS.labels("patron")._value.get() == before + 1  # raised once for the period
    assert "login failures rising across many cards" in caplog.text
    with runtime.db.session() as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "security.login_alarm")).all()
        assert [(e.target, e.outcome) for e in events] == [("patron", "alarm")]
        assert "card-" not in str(events[0].detail)
    clock.advance(600)  # a later wave raises it again
    for i in range(10):
        throttle.failed("198.51.100.1", f"late-{i}")
    assert ALARMS.labels("patron")._value.get() == before + 2
