"""Registers the ``local`` connector type."""

from broker import hookimpl
from broker.connector_kit import connector_hook

from .connector import LocalSettings, make_local_connector

broker_connectors = connector_hook("local", make_local_connector, LocalSettings,
                                   "patrons kept in Sésame (CSV import, PINs hashed with argon2id)")


@hookimpl
def broker_cli_commands():
    from .commands import patrons

    return [patrons]
