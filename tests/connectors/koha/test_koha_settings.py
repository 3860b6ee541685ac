"""Koha settings are checked when a library is configured, and the plugin registers the type."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from pydantic import ValidationError

from broker.domain.connectors import ConnectorContext, ConnectorSpec
from connectors.koha import KohaConnector, KohaSettings
from connectors.koha.plugin import broker_connectors

OAUTH = {"base_url": "https://koha.example.org/", "client_id": "c", "client_secret": "s"}


def test_defaults_and_url_cleanup():
    settings = KohaSettings.model_validate(OAUTH)
    assert settings.base_url == "https://koha.example.org"
    assert settings.api == "https://koha.example.org/api/v1"
    assert settings.auth == "oauth2" and settings.verify is True
    assert KohaSettings.model_validate({**OAUTH, "base_url": "https://k.example.org/api/v1/"}).api \
        == "https://k.example.org/api/v1"
    assert KohaSettings.model_validate({**OAUTH, "ca_file": "/etc/ca.pem"}).verify == "/etc/ca.pem"
    assert KohaSettings.model_validate({**OAUTH, "verify_tls": False}).verify is False


@pytest.mark.parametrize("changes, field", [
    ({"bogus": 1}, "bogus"),
    ({"base_url": "ftp://koha"}, "base_url"),
    ({"base_url": "koha.example.org"}, "base_url"),
    ({"auth": "saml"}, "auth"),
    ({"timeout": -1}, "timeout"),
    ({"timeout": "fast"}, "timeout"),
    ({"card_case": "title"}, "card_case"),
    ({"verify_tls": "perhaps"}, "verify_tls"),
    ({"pool_size": 0}, "pool_size"),
])
def test_wrong_key_or_type_is_refused_with_its_name(changes, field):
    with pytest.raises(ValidationError) as caught:
        KohaSettings.model_validate({**OAUTH, **changes})
    assert field in {".".join(map(str, e["loc"])) for e in caught.value.errors()}


@pytest.mark.parametrize("values, message", [
    ({"base_url": "https://k.example.org"}, "client_id and client_secret"),
    ({"base_url": "https://k.example.org", "auth": "basic", "username": "u"}, "username and password"),
])
def test_credentials_must_match_the_auth_method(values, message):
    with pytest.raises(ValidationError, match=message):
        KohaSettings.model_validate(values)


def test_secrets_stay_hidden():
    settings = KohaSettings.model_validate({**OAUTH, "client_secret": "hunter2"})
    assert "hunter2" not in repr(settings) and "hunter2" not in str(settings.model_dump())


def test_plugin_offers_the_koha_type():
    (spec,) = broker_connectors()
    assert isinstance(spec, ConnectorSpec)
    assert spec.name == "koha" and spec.settings_model is KohaSettings
    settings = spec.settings_model.model_validate(OAUTH)
    built = spec.factory(settings, context=ConnectorContext(library_code="FR-KOHA"))
    assert isinstance(built, KohaConnector) and built.library == "FR-KOHA"
    built.close()


def test_the_documented_example_is_valid_settings():
    text = (Path(__file__).parents[3] / "docs" / "connectors.md").read_text(encoding="utf-8")
    body = text.split("\n## Koha REST\n", 1)[1].split("\n## ", 1)[0]
    (example,) = re.findall(r"```toml\n(.*?)```", body, flags=re.S)
    assert KohaSettings.model_validate(tomllib.loads(example)).auth == "oauth2"
