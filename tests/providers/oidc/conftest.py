"""Fixtures of the OpenID Connect tests: pyoidc relying parties (the live broker and browsers: ../conftest.py)."""

from __future__ import annotations

import secrets

import pytest

from fixtures.live import RelyingParty, register


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
