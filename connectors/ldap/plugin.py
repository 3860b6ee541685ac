"""Registers the ``ldap`` connector type with Sésame."""

from __future__ import annotations

from broker.connector_kit import connector_hook

from .connector import LdapConnector
from .settings import LdapSettings

broker_connectors = connector_hook(
    "ldap", LdapConnector, LdapSettings, "Annuaire LDAP / LDAP directory (bind or PIN compare, LDAPS/StartTLS)")
