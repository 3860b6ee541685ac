"""The plugin manager: hookspecs, built-ins as ordinary plugins, loud failures."""

import pytest
from pydantic import BaseModel, ConfigDict

from broker import hookimpl
from broker.domain.access import Refusal
from broker.domain.connectors import ConnectorSpec, Health
from broker.domain.patrons import PatronRecord
from broker.errors import ConfigError
from broker.plugins.manager import collect_named, make_plugin_manager


class NoSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Echo:
    def __init__(self, settings):
        pass

    def authenticate(self, card, secret):
        return PatronRecord(card=card)

    def lookup(self, card):
        return None

    def check(self):
        return Health(True)


def test_builtins_are_registered_plugins():
    pm = make_plugin_manager(load_entrypoints=False)
    names = {name for name, _ in pm.list_name_plugin()}
    assert {"connectors.sip2.plugin", "connectors.ldap.plugin", "connectors.koha.plugin", "connectors.local.plugin"} <= names
    assert {"sip2", "ldap", "koha", "local"} <= set(collect_named(pm, "broker_connectors", "connector"))


def test_misspelt_hook_fails_at_start():
    class Misspelt:
        @hookimpl
        def broker_conectors(self):
            return []

    with pytest.raises(ConfigError, match="broker_conectors"):
        make_plugin_manager(load_entrypoints=False, extra=[Misspelt()])


def test_duplicate_connector_names_both_plugins():
    class Second:
        @hookimpl
        def broker_connectors(self):
            return [ConnectorSpec("sip2", Echo, NoSettings)]

    pm = make_plugin_manager(load_entrypoints=False, extra=[Second()])
    with pytest.raises(ConfigError) as err:
        collect_named(pm, "broker_connectors", "connector")
    assert "connectors.sip2.plugin" in str(err.value)


def test_disabled_plugin_is_not_registered():
    pm = make_plugin_manager(load_entrypoints=False, disabled=["connectors.koha.plugin"])
    assert "koha" not in collect_named(pm, "broker_connectors", "connector")


def test_access_policy_plugin_refuses(demo_app):
    """A plugin policy runs after the built-in rules and can refuse with its own code."""
    from broker.services import access, libraries, patrons, suppliers

    class NoPressOnSundays:
        @hookimpl
        def broker_access_check(self, patron, library, supplier):
            return Refusal("closed_sunday", "la presse est fermée") if supplier.slug == "cafeyn" else None

    runtime = demo_app.extensions["broker"]
    runtime.pm.register(NoPressOnSundays())
    with runtime.db.session() as s:
        lib = libraries.get_library(s, "FR-147626101")
        patron = patrons.find(runtime, s, lib, "V0001")
        refused = access.check(runtime, s, patron.uid, suppliers.get_supplier(s, "cafeyn"))
        granted = access.check(runtime, s, patron.uid, suppliers.get_supplier(s, "skilleos"))
    assert refused.decision.refusal.code == "closed_sunday"
    assert granted.granted


def test_release_attributes_hook_edits(demo_app):
    from broker.services import libraries, patrons, release, suppliers
    from broker.services.patron_changes import PatronView

    class AddCategory:
        @hookimpl
        def broker_release_attributes(self, patron, library, supplier, attributes):
            attributes["network"] = ["edited"]

    runtime = demo_app.extensions["broker"]
    runtime.pm.register(AddCategory())
    with runtime.db.session() as s:
        lib = libraries.get_library(s, "FR-147626101")
        patron = PatronView.of(patrons.find(runtime, s, lib, "V0001"))
        attrs = release.attributes(runtime, patron, lib, suppliers.get_supplier(s, "cafeyn"))
    assert attrs["network"] == ["edited"]
    assert attrs["eduPersonEntitlement"] == ["urn:mace:dir:entitlement:common-lib-terms"]
    assert "V0001" not in repr(attrs)
