"""The jwt provider passes Sésame's provider contract kit (the walk-through of docs/plugins.md)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from sesame_provider_jwt import plugin
from sesame_provider_jwt.settings import JwtSettings
from sesame_provider_jwt.token import decode

from broker.testing import Access, ProviderContract

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

    @pytest.fixture
    def register_supplier(self):
        def register(runtime, slug, networks, release):
            settings = JwtSettings(endpoint=f"https://{slug}.example.org/sesame", secret_env=KEY_VAR)
            with runtime.db.session() as s:
                plugin.register(runtime, s, slug, settings, networks=networks, release=release)

        return register

    @pytest.fixture
    def access(self):
        def run(client, slug) -> Access:
            answer = client.get(f"/go/{slug}")
            location = answer.headers.get("Location", "")
            if answer.status_code != 303 or not location.startswith(f"https://{slug}.example.org/sesame?"):
                return Access(False, answer.get_data(as_text=True), status=answer.status_code)
            claims = decode(parse_qs(urlsplit(location).query)["jwt"][0], KEY.encode())
            assert claims["aud"] == f"https://{slug}.example.org" and claims["exp"] - claims["iat"] == 60
            return Access(True, str(claims), claims["sub"], answer.status_code)

        return run
