"""Registers the ``koha`` connector type with Sésame."""

from __future__ import annotations

from broker import hookimpl
from broker.domain.connectors import ConnectorSpec

from .connector import KohaConnector
from .settings import KohaSettings


@hookimpl
def broker_connectors() -> list[ConnectorSpec]:
    return [
        ConnectorSpec(
            name="koha",
            factory=KohaConnector,
            settings_model=KohaSettings,
            description="Koha, API REST / Koha REST API (password validation, OAuth2 or basic auth)",
        )
    ]
