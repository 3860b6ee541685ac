"""The plugin module Sésame loads from the ``broker`` entry point group."""

from __future__ import annotations

from broker.connector_kit import connector_hook

from .connector import CsvFileConnector, CsvFileSettings

broker_connectors = connector_hook(
    "csv-file", CsvFileConnector, CsvFileSettings, "patrons listed in a CSV or JSON file, PINs hashed (example plugin)")
