"""The example provider package installs like any third-party plugin, is found through the
``broker`` entry point group, offers its generated CLI command and passes the provider contract kit."""

from __future__ import annotations

import importlib
import importlib.metadata
from pathlib import Path

import pytest

from broker.testing import ProviderContract, query_of

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sesame-provider-jwt"
DISTRIBUTION = "sesame-provider-jwt"
ENTRY_POINT = PACKAGE = "sesame_provider_jwt"
KEY_VAR = "SESAME_EXAMPLE_JWT_KEY"
KEY = "example-jwt-key-installed-plugin-" + "9e41b07c"


@pytest.fixture(scope="session")
def installed_example(install_example) -> None:
    """pip-install examples/sesame-provider-jwt into this interpreter's environment when needed."""
    install_example(EXAMPLE, DISTRIBUTION, PACKAGE)


@pytest.fixture(autouse=True)
def key_in_environment(monkeypatch):
    monkeypatch.setenv(KEY_VAR, KEY)


def test_the_plugin_is_installed_and_offers_the_protocol_next_to_the_built_ins(installed_example) -> None:
    found = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="broker")}
    assert found.get(ENTRY_POINT) == "sesame_provider_jwt.plugin"
    module = importlib.import_module("sesame_provider_jwt")
    assert EXAMPLE not in Path(module.__file__).resolve().parents
    from broker.plugins.manager import collect_named, make_plugin_manager

    providers = collect_named(make_plugin_manager(), "broker_providers", "provider")
    assert {"jwt", "link", "saml", "oidc", "cas"} <= set(providers)
    assert providers["jwt"].issue is not None and providers["jwt"].settings_model is not None
    disabled = make_plugin_manager(disabled=["sesame_provider_jwt"])
    assert "jwt" not in collect_named(disabled, "broker_providers", "provider")


def test_the_generated_command_registers_and_refuses_bad_input(installed_example, broker_cli) -> None:
    assert broker_cli("networks", "add", "calvados", "--name", "Calvados").exit_code == 0
    bad = broker_cli("suppliers", "add-jwt", "vod", "--network", "calvados", "--endpoint", "http://vod.example.org/",
                     "--secret-env", KEY_VAR)
    assert bad.exit_code == 2 and "endpoint" in bad.stderr and "https" in bad.stderr
    unset = broker_cli("suppliers", "add-jwt", "vod", "--network", "calvados", "--endpoint",
                       "https://vod.example.org/sesame", "--secret-env", "NO_SUCH_KEY_VARIABLE")
    assert unset.exit_code == 2 and "not set" in unset.stderr
    done = broker_cli("suppliers", "add-jwt", "vod", "--network", "calvados", "--endpoint",
                      "https://vod.example.org/sesame", "--secret-env", KEY_VAR, "--json")
    assert done.exit_code == 0, done.output
    assert done.json()["protocol"] == "jwt" and KEY not in done.output


class TestInstalledJwtProvider(ProviderContract):
    """Sésame finds the provider through its entry point: no plugin is handed to the kit."""

    protocol = "jwt"

    @pytest.fixture(scope="class")
    @classmethod
    def provider_plugins(cls, installed_example):
        return ()

    @pytest.fixture
    def provider_secrets(self):
        return [KEY]

    def add_supplier(self, runtime, session, slug, networks, release):
        spec = runtime.providers["jwt"]
        settings = spec.settings_model(endpoint=f"https://{slug}.example.org/sesame", secret_env=KEY_VAR)
        spec.register(runtime, session, slug, settings, networks=networks, release=release)

    def redirect_prefix(self, slug):
        return f"https://{slug}.example.org/sesame?"

    def received(self, slug, location):
        from sesame_provider_jwt.token import decode

        claims = decode(query_of(location)["jwt"], KEY.encode())
        return str(claims), claims["sub"]
