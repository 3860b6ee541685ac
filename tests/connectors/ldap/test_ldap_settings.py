"""LDAP settings are checked when a library is configured, and the plugin registers the type."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from pydantic import ValidationError

from broker.domain.connectors import ConnectorContext, ConnectorSpec
from connectors.ldap import LdapConnector, LdapSettings
from connectors.ldap.plugin import broker_connectors

MINIMAL = {"url": "ldap://ldap.example.org", "base_dn": "ou=people,dc=example,dc=org"}


def test_minimal_settings_and_defaults():
    settings = LdapSettings.model_validate(MINIMAL)
    assert settings.search_filter == "(uid={card})"
    assert settings.auth_mode == "bind" and settings.scope == "sub"
    assert settings.card_case == "upper"
    assert settings.attributes.requested()[:2] == ["displayName", "cn"]


@pytest.mark.parametrize("changes, field", [
    ({"bogus": 1}, "bogus"),
    ({"url": "http://ldap.example.org"}, "url"),
    ({"url": "ldap://"}, "url"),
    ({"search_filter": "(uid=%s)"}, "search_filter"),
    ({"search_filter": "uid={card}"}, "search_filter"),
    ({"search_filter": "(&(uid={card})"}, "search_filter"),
    ({"search_filter": "(uid={card}))("}, "search_filter"),
    ({"scope": "subtree"}, "scope"),
    ({"auth_mode": "sasl"}, "auth_mode"),
    ({"timeout": 0}, "timeout"),
    ({"timeout": "slow"}, "timeout"),
    ({"card_case": "title"}, "card_case"),
    ({"base_dn": "people"}, "base_dn"),
    ({"attributes": {"name": []}}, "attributes.name"),
    ({"attributes": {"surname": "sn"}}, "attributes.surname"),
])
def test_wrong_key_or_type_is_refused_with_its_name(changes, field):
    with pytest.raises(ValidationError) as caught:
        LdapSettings.model_validate({**MINIMAL, **changes})
    locations = {".".join(map(str, err["loc"])) for err in caught.value.errors()}
    assert field in locations


@pytest.mark.parametrize("changes, message", [
    ({"auth_mode": "compare"}, "pin_attribute"),
    ({"url": "ldaps://ldap.example.org", "start_tls": True}, "start_tls"),
    ({"bind_dn": "cn=sesame,dc=example,dc=org"}, "bind_password"),
])
def test_inconsistent_settings_are_refused(changes, message):
    with pytest.raises(ValidationError, match=message):
        LdapSettings.model_validate({**MINIMAL, **changes})


def test_password_is_secret_in_reprs():
    settings = LdapSettings.model_validate({**MINIMAL, "bind_dn": "cn=s,dc=x", "bind_password": "hunter2"})
    assert "hunter2" not in repr(settings) and "hunter2" not in str(settings.model_dump())


def test_plugin_offers_the_ldap_type():
    (spec,) = broker_connectors()
    assert isinstance(spec, ConnectorSpec)
    assert spec.name == "ldap" and spec.settings_model is LdapSettings
    settings = spec.settings_model.model_validate(MINIMAL)
    built = spec.factory(settings, context=ConnectorContext(library_code="FR-TEST"))
    assert isinstance(built, LdapConnector) and built.library == "FR-TEST"
    assert isinstance(spec.factory(settings), LdapConnector)


def _doc_examples(section: str) -> list[str]:
    text = (Path(__file__).parents[3] / "docs" / "connectors.md").read_text(encoding="utf-8")
    body = text.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```toml\n(.*?)```", body, flags=re.S)


def test_the_documented_examples_are_valid_settings():
    examples = _doc_examples("LDAP")
    assert len(examples) == 2
    for example in examples:
        LdapSettings.model_validate(tomllib.loads(example))


def test_attribute_mapping_from_a_command_line():
    settings = LdapSettings.model_validate({**MINIMAL, "attributes.card": "libraryCardNumber",
                                            "attributes.name": "displayName,cn", "attributes.email": ""})
    assert settings.attributes.card == "libraryCardNumber"
    assert settings.attributes.name == ["displayName", "cn"]
    assert settings.attributes.requested() == ["displayName", "cn", "libraryCardNumber"]
    as_json = LdapSettings.model_validate({**MINIMAL, "attributes": '{"expires": "cardExpires"}'})
    assert as_json.attributes.expires == "cardExpires"
    with pytest.raises(ValidationError, match="attributes.nickname"):
        LdapSettings.model_validate({**MINIMAL, "attributes.nickname": "cn"})
    with pytest.raises(ValidationError, match="JSON"):
        LdapSettings.model_validate({**MINIMAL, "attributes": "{card"})
