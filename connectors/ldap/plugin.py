"""Registers the ``ldap`` connector type with Sésame."""

from __future__ import annotations

from broker import hookimpl
from broker.domain.connectors import ConnectorSpec

from .connector import LdapConnector
from .settings import LdapSettings


@hookimpl
def broker_connectors() -> list[ConnectorSpec]:
    return [
        ConnectorSpec(
            name="ldap",
            factory=LdapConnector,
            settings_model=LdapSettings,
            description="Annuaire LDAP / LDAP directory (bind or PIN compare, LDAPS/StartTLS)",
        )
    ]
