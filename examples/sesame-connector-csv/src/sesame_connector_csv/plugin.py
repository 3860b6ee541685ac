"""The plugin module Sésame loads from the ``broker`` entry point group."""

from __future__ import annotations

from broker import hookimpl
from broker.domain.connectors import ConnectorSpec

from .connector import CsvFileConnector, CsvFileSettings


@hookimpl
def broker_connectors() -> list[ConnectorSpec]:
    return [
        ConnectorSpec(
            name="csv-file",
            factory=CsvFileConnector,
            settings_model=CsvFileSettings,
            description="patrons listed in a CSV or JSON file, PINs hashed (example plugin)",
        )
    ]
