"""Fixtures of the CAS tests: registered services and a CAS client (the live broker and browsers: ../conftest.py)."""

from __future__ import annotations

import secrets

import pytest

SERVICE_BASE = "https://cas-client.example.org"


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
