"""Fixtures of the CAS tests: a live demo broker, a patron's browser, registered services."""

from __future__ import annotations

import secrets

import pytest

from fixtures.live import Browser, serve

SERVICE_BASE = "https://cas-client.example.org"


@pytest.fixture(scope="module")
def live(tmp_path_factory, demo_db):
    yield from serve(tmp_path_factory, demo_db(sip2="offline"))


@pytest.fixture
def browser(live):
    return Browser(live)


@pytest.fixture(scope="module")
def patron_cookies(live):
    browser = Browser(live)
    assert browser.login().status_code == 302
    return browser.http.cookies.get_dict()


@pytest.fixture
def patron(live, patron_cookies):
    """A browser with V0001's session (shared by the module's tests: do not log it out)."""
    browser = Browser(live)
    browser.http.cookies.update(patron_cookies)
    return browser


@pytest.fixture
def service_factory(live):
    """Register a CAS service; returns (slug, base URL of its pages)."""
    from broker.providers.cas.services import register

    def make(slug: str | None = None, **options):
        slug = slug or f"cas-{secrets.token_hex(3)}"
        base = f"{SERVICE_BASE}/{slug}"
        options.setdefault("patterns", [rf"{base.replace('.', chr(92) + '.')}/.*"])
        options.setdefault("networks", ["calvados"])
        with live.runtime.db.session() as s:
            register(live.runtime, s, slug, **options)
        return slug, base

    return make


@pytest.fixture
def cas_client(live):
    """python-cas's client for a service URL (CAS 3 by default)."""
    from cas import CASClient

    def make(service_url: str, version: int = 3):
        return CASClient(version=version, service_url=service_url, server_url=live.base + "/cas/")

    return make
