"""Password spraying from one address, through the login page, with a controlled clock (no sleeping).

The library's public computers share one address: someone there tries a PIN on card after card,
while patrons at the other computers log in with their own card and PIN.
"""

from __future__ import annotations

import time

import pytest

from broker.testing import MovableClock

NAT = {"REMOTE_ADDR": "203.0.113.7"}


@pytest.fixture
def clock():
    """The app's clock: it stands still (no bucket of the guards' windows ends half-way) until moved."""
    return MovableClock(at=time.time())


@pytest.fixture
def library(make_portal, clock):
    portal = make_portal(clock=clock, login_ip_failures=5, login_ip_max_delay=60, login_ip_limit=10_000)
    portal.add_local_patron("FR-147626101", "V7777", pin="2468")
    # registered from home: this card never signed in from the library's address
    assert portal.register(card="V7777", password="2468", client=portal.app.test_client(),
                           email="v7777@example.org").status_code == 302
    return portal


def spray(portal, n: int) -> list[int]:
    client = portal.app.test_client()
    return [portal.login(card=f"X{i:05d}", password="1234", client=client, **NAT).status_code for i in range(n)]


def test_spraying_is_slowed_and_a_known_patron_still_gets_in(library, clock):
    assert library.login(**NAT).status_code == 302  # V0001 signed in from the library's computers before
    statuses = spray(library, 40)
    assert statuses[:5] == [400] * 5  # the budget: wrong PIN answers
    assert statuses[5:].count(429) >= 30  # then the address waits between checked attempts
    limited = library.login(card="X99999", password="0000", client=library.app.test_client(), **NAT)
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert "Patientez" in limited.get_data(as_text=True)
    # the patron at the next computer: the right PIN gets in at once
    patron = library.app.test_client()
    assert library.login(client=patron, **NAT).status_code == 302
    assert patron.get("/account").status_code == 200
    # another address was never affected
    assert library.login(client=library.app.test_client(), REMOTE_ADDR="198.51.100.4").status_code == 302


def test_a_first_time_patron_gets_in_within_the_longest_wait(library, clock):
    spray(library, 40)
    patron = library.app.test_client()
    first = library.login(card="V7777", password="2468", client=patron, **NAT)
    assert first.status_code == 429
    wait = int(first.headers["Retry-After"])
    assert wait <= 60  # login_ip_max_delay bounds the wait
    clock.advance(wait)
    assert library.login(card="V7777", password="2468", client=patron, **NAT).status_code == 302
    # from now on this card is known at this address: no wait, even while the spraying goes on
    spray(library, 10)
    assert library.login(card="V7777", password="2468", client=library.app.test_client(), **NAT).status_code == 302


def test_successful_logins_do_not_spend_the_budget(library, clock):
    for _ in range(30):
        assert library.login(client=library.app.test_client(), **NAT).status_code == 302
    assert spray(library, 5) == [400] * 5
