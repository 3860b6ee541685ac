"""Sip2Settings: what a library's configuration may say, and what it is refused."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from broker.domain.connectors import Connector, ConnectorSpec
from connectors.sip2 import plugin
from connectors.sip2.connector import Sip2Connector, Sip2Settings

BASE = {"host": "sigb.example.org", "login": "sesame", "password": "s3cret", "institution": "MAIN"}


def test_minimal_settings_take_koha_defaults() -> None:
    settings = Sip2Settings.model_validate(BASE)
    assert settings.port == 6001 and settings.timeout == 5.0 and settings.encoding == "utf-8"
    assert settings.expiry_code == "DE" and settings.sigb == "koha"
    assert not settings.error_detection and settings.terminator == "CR"


def test_evergreen_preset_reads_pa() -> None:
    assert Sip2Settings.model_validate({**BASE, "sigb": "evergreen"}).expiry_code == "PA"
    assert Sip2Settings.model_validate({**BASE, "expiry_field": "evergreen"}).expiry_code == "PA"
    assert Sip2Settings.model_validate({**BASE, "expiry_field": "XE"}).expiry_code == "XE"
    assert Sip2Settings.model_validate({**BASE, "expiry_field": ""}).expiry_code is None


@pytest.mark.parametrize(
    "change, key",
    [
        ({"hots": "x"}, "hots"),
        ({"port": 70000}, "port"),
        ({"port": "http"}, "port"),
        ({"timeout": 0}, "timeout"),
        ({"encoding": "ebcdic"}, "encoding"),
        ({"terminator": "LF"}, "terminator"),
        ({"expiry_field": "expiry"}, "expiry_field"),
        ({"blocking_flags": ["charge_denied", "nonsense"]}, "blocking_flags"),
        ({"sigb": "orphee"}, "sigb"),
        ({"institution": "MAIN|AD1234"}, "institution"),
        ({"login": "x" * 300}, "login"),
        ({"encoding": "cp850", "institution": "Médiathèque €"}, "institution"),
    ],
)
def test_wrong_keys_and_types_are_refused_with_their_name(change, key) -> None:
    with pytest.raises(ValidationError) as refused:
        Sip2Settings.model_validate({**BASE, **change})
    assert key in str(refused.value)


@pytest.mark.parametrize("missing", ["host", "login", "password", "institution"])
def test_required_keys(missing) -> None:
    values = {k: v for k, v in BASE.items() if k != missing}
    with pytest.raises(ValidationError, match=missing):
        Sip2Settings.model_validate(values)


def test_passwords_never_show() -> None:
    settings = Sip2Settings.model_validate({**BASE, "terminal_password": "t3rm"})
    text = repr(settings) + str(settings) + repr(settings.client_config())
    assert "s3cret" not in text and "t3rm" not in text


def test_the_plugin_offers_the_sip2_connector() -> None:
    (spec,) = plugin.broker_connectors()
    assert isinstance(spec, ConnectorSpec) and spec.name == "sip2"
    assert spec.settings_model is Sip2Settings
    connector = spec.factory(Sip2Settings.model_validate(BASE))
    assert isinstance(connector, Connector) and isinstance(connector, Sip2Connector)
    connector.close()


def test_the_hook_is_found_by_pluggy() -> None:
    import pluggy

    manager = pluggy.PluginManager("broker")
    manager.register(plugin)
    names = [spec.name for specs in manager.hook.broker_connectors() for spec in specs]
    assert names == ["sip2"]
