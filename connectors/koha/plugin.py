"""Registers the ``koha`` connector type with Sésame."""

from __future__ import annotations

from broker.connector_kit import connector_hook

from .connector import KohaConnector
from .settings import KohaSettings

broker_connectors = connector_hook(
    "koha", KohaConnector, KohaSettings,
    "Koha, API REST / Koha REST API (password validation, OAuth2 or basic auth)")
