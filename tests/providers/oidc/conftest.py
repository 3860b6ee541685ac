"""Fixtures of the OpenID Connect tests: a live demo broker, a patron's browser, pyoidc relying parties."""

from __future__ import annotations

import secrets

import pytest

from fixtures.live import Browser, RelyingParty, register, serve


@pytest.fixture(scope="module")
def live(tmp_path_factory, demo_db):
    """One demo broker per test module (tests register their own clients, so they stay independent)."""
    yield from serve(tmp_path_factory, demo_db(sip2="offline"))


@pytest.fixture
def browser(live):
    """A fresh browser, nobody logged in."""
    return Browser(live)


@pytest.fixture
def client_factory(live):
    def make(slug: str | None = None, **options):
        return register(live, slug or f"rp-{secrets.token_hex(3)}", **options)

    return make


@pytest.fixture
def rp_factory(live):
    def make(registration, **kw):
        return RelyingParty(live, registration, **kw)

    return make


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
