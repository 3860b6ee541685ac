"""Registers the ``local`` connector type."""

from broker import hookimpl
from broker.domain.connectors import ConnectorSpec

from .connector import LocalSettings, make_local_connector


@hookimpl
def broker_connectors():
    return [ConnectorSpec("local", make_local_connector, LocalSettings,
                          "patrons kept in Sésame (CSV import, PINs hashed with argon2id)")]


@hookimpl
def broker_cli_commands():
    from .commands import patrons

    return [patrons]
