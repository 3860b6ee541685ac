"""The example provider package installs like any third-party plugin, is found through the
``broker`` entry point group, offers its generated CLI command and passes the provider contract kit."""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from broker.testing import Access, ProviderContract

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sesame-provider-jwt"
DISTRIBUTION = "sesame-provider-jwt"
ENTRY_POINT = "sesame_provider_jwt"
KEY_VAR = "SESAME_EXAMPLE_JWT_KEY"
KEY = "example-jwt-key-installed-plugin-" + "9e41b07c"


def installed_matches_source() -> bool:
    try:
        dist = importlib.metadata.distribution(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return False
    for source in (EXAMPLE / "src" / "sesame_provider_jwt").glob("*.py"):
        installed = Path(str(dist.locate_file(f"sesame_provider_jwt/{source.name}")))
        if not installed.is_file() or installed.read_bytes() != source.read_bytes():
            return False
    return True


@pytest.fixture(scope="session")
def installed_example() -> None:
    """pip-install examples/sesame-provider-jwt into this interpreter's environment when needed."""
    if not installed_matches_source():
        command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                   "--no-deps", "--force-reinstall", str(EXAMPLE)]
        if importlib.util.find_spec("wheel") is not None:
            command.append("--no-build-isolation")
        result = subprocess.run(command, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        importlib.invalidate_caches()
    assert installed_matches_source()


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

    @pytest.fixture
    def register_supplier(self):
        def register(runtime, slug, networks, release):
            spec = runtime.providers["jwt"]
            settings = spec.settings_model(endpoint=f"https://{slug}.example.org/sesame", secret_env=KEY_VAR)
            with runtime.db.session() as s:
                spec.register(runtime, s, slug, settings, networks=networks, release=release)

        return register

    @pytest.fixture
    def access(self):
        def run(client, slug) -> Access:
            from sesame_provider_jwt.token import decode

            answer = client.get(f"/go/{slug}")
            location = answer.headers.get("Location", "")
            if answer.status_code != 303 or not location.startswith(f"https://{slug}.example.org/sesame?"):
                return Access(False, answer.get_data(as_text=True), status=answer.status_code)
            claims = decode(parse_qs(urlsplit(location).query)["jwt"][0], KEY.encode())
            return Access(True, str(claims), claims["sub"], answer.status_code)

        return run
