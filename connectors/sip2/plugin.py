"""Registers the SIP2 connector with Sésame through the ``broker_connectors`` hook."""

from __future__ import annotations

from broker import hookimpl
from broker.domain.connectors import ConnectorSpec

from .connector import Sip2Connector, Sip2Settings


@hookimpl
def broker_connectors() -> list[ConnectorSpec]:
    return [
        ConnectorSpec(
            name="sip2",
            factory=Sip2Connector,
            settings_model=Sip2Settings,
            description="3M SIP2 2.00 over TCP or TLS (Koha, Evergreen and other SIGB)",
        )
    ]
