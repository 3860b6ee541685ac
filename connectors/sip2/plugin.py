"""Registers the SIP2 connector with Sésame through the ``broker_connectors`` hook."""

from __future__ import annotations

from broker.connector_kit import connector_hook

from .connector import Sip2Connector, Sip2Settings

broker_connectors = connector_hook(
    "sip2", Sip2Connector, Sip2Settings, "3M SIP2 2.00 over TCP or TLS (Koha, Evergreen and other SIGB)")
