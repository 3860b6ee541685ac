"""Password spraying against staff logins from one address: the same per-address guards as patrons."""

from __future__ import annotations

import time

import pytest

from broker.testing import MovableClock
from fixtures.staff import VIRE, csrf

NAT = {"REMOTE_ADDR": "203.0.113.7"}


@pytest.fixture
def clock():
    """The app's clock: it stands still (no bucket of the guards' windows ends half-way)."""
    return MovableClock(at=time.time())


def test_staff_spraying_waits_and_a_known_account_gets_in(make_app, staff_template, tmp_path, clock):
    from fixtures.staff import app_from_template

    app = app_from_template(make_app, staff_template, tmp_path, login_ip_failures=3, login_ip_max_delay=60,
                            clock=clock)
    known = app.test_client()
    token = csrf(known)
    ok = known.post("/staff/login", data={"email": VIRE[0], "password": VIRE[1], "csrf_token": token},
                    environ_base=NAT)
    assert ok.status_code == 303  # the referent has signed in from this address before

    attacker = app.test_client()
    token = csrf(attacker)
    statuses = [attacker.post("/staff/login", data={"email": f"guess{i}@example.org", "password": "Summer2026!",
                                                    "csrf_token": token}, environ_base=NAT).status_code
                for i in range(20)]
    assert statuses[:3] == [401] * 3
    assert statuses[3:].count(429) >= 15
    # the referent at the next desk still gets in at once
    again = app.test_client()
    token = csrf(again)
    assert again.post("/staff/login", data={"email": VIRE[0], "password": VIRE[1], "csrf_token": token},
                      environ_base=NAT).status_code == 303
    # and patron logins from that address keep their own budget
    runtime = app.extensions["broker"]
    from broker.services.throttle import LoginThrottle

    assert LoginThrottle(runtime, "patron").check(NAT["REMOTE_ADDR"], "card").allowed
