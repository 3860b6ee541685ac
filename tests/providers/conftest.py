"""Fixtures shared by the tests of the protocols served on a live demo broker (CAS, OpenID Connect, signed links).

A package's conftest may define its own ``live`` (the signed-link tests add a patron); the
browsers below then run against that one.
"""

from __future__ import annotations

import re

import pytest

from fixtures.live import VIRE, Browser, serve


@pytest.fixture(scope="module")
def live(tmp_path_factory, demo_db):
    """One demo broker per test module (tests register their own suppliers, so they stay independent)."""
    yield from serve(tmp_path_factory, demo_db(sip2="offline"))


@pytest.fixture
def browser(live):
    """A fresh browser, nobody logged in."""
    return Browser(live)


@pytest.fixture(scope="module")
def patron_cookies(live):
    """V0001 of Vire (active membership) logged in once per module through the real /login form."""
    browser = Browser(live)
    response = browser.login()
    assert response.status_code == 302, response.text[:300]
    return browser.http.cookies.get_dict()


@pytest.fixture
def patron(live, patron_cookies):
    """A browser with V0001's session (shared by the module's tests: do not log it out)."""
    browser = Browser(live)
    browser.http.cookies.update(patron_cookies)
    return browser


@pytest.fixture
def pending_patron(live):
    """A browser of V0002, who registers online: pending until the referent validates."""
    browser = Browser(live)
    page = browser.get(live.url(f"/register?library={VIRE}"))
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    done = browser.http.post(live.url("/register"), data={
        "csrf_token": token, "library": VIRE, "card": "V0002", "password": "4321",
        "email": "thomas.garnier@example.org", "consent": "yes"}, allow_redirects=False, timeout=10)
    assert done.status_code == 302, done.text[:300]
    return browser
