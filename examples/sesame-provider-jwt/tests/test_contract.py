"""The jwt provider passes Sésame's provider contract kit (the walk-through of docs/plugins.md)."""

from __future__ import annotations

import pytest
from sesame_provider_jwt import plugin
from sesame_provider_jwt.settings import JwtSettings
from sesame_provider_jwt.token import decode

from broker.testing import ProviderContract, query_of

KEY_VAR = "SESAME_EXAMPLE_JWT_KEY"
KEY = "example-jwt-key-for-the-contract-" + "41f7c09e2d"


@pytest.fixture(autouse=True)
def key_in_environment(monkeypatch):
    monkeypatch.setenv(KEY_VAR, KEY)


class TestJwtProvider(ProviderContract):
    protocol = "jwt"

    @pytest.fixture(scope="class")
    @classmethod
    def provider_plugins(cls):
        from importlib.metadata import entry_points

        installed = any(ep.value == "sesame_provider_jwt.plugin" for ep in entry_points(group="broker"))
        return () if installed else (plugin,)  # installed: Sésame finds it through its entry point

    @pytest.fixture
    def provider_secrets(self):
        return [KEY]

    def add_supplier(self, runtime, session, slug, networks, release):
        settings = JwtSettings(endpoint=f"https://{slug}.example.org/sesame", secret_env=KEY_VAR)
        plugin.register(runtime, session, slug, settings, networks=networks, release=release)

    def redirect_prefix(self, slug):
        return f"https://{slug}.example.org/sesame?"

    def received(self, slug, location):
        claims = decode(query_of(location)["jwt"], KEY.encode())
        assert claims["aud"] == f"https://{slug}.example.org" and claims["exp"] - claims["iat"] == 60
        return str(claims), claims["sub"]
