"""The running broker without its web layer: settings, clock, database, state, plugins, SIGB gateway.

The Flask app keeps one Runtime in ``app.extensions["broker"]``; the CLI uses
the same object, so both follow the same rules. Every per-process component
(the caches of libraries, patrons' changes, keys and suppliers, the protocol
components) is a named attribute here; the protocol ones are built on first use.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

import pluggy

from . import instance_secrets
from .clock import SYSTEM, Clock
from .config import Settings
from .crypto import InstanceKeys
from .db import Database
from .events import Event
from .keys import KeyStore
from .plugins.manager import collect_named, plugin_manager_for
from .providers.registry_cache import SupplierRegistries
from .services.libraries import LibraryCache
from .services.patron_changes import PatronChanges
from .services.usage_log import UsageLog
from .sigb import DatabaseLocalPatrons, SigbGateway
from .state import StateStore, open_state_store

if TYPE_CHECKING:
    from .providers.cas.tickets import TicketStore
    from .providers.oidc.server import OidcServer
    from .providers.saml.idpmeta import PublishedMetadata
    from .providers.saml.registry import RefreshTick


class Runtime:
    """One broker: what the app and the CLI share, each part a typed attribute.

    Built here: ``settings``, ``clock``, ``db``, ``keys`` (the instance secrets), ``state``,
    ``pm`` (plugins) with ``connector_specs`` and ``providers``, ``sigb``,
    ``usage``, ``key_store``, ``libraries``, ``patron_changes``, ``suppliers``.
    Set by the OIDC blueprint: ``oidc_server``. Built on first use:
    ``cas_tickets``, ``saml_metadata``, ``saml_metadata_refresh``.
    Every component reads the time from ``clock`` (tests give a MovableClock).
    """

    def __init__(self, settings: Settings, *, extra_plugins: tuple[Any, ...] = (), clock: Clock | None = None) -> None:
        self.settings = settings
        #: the one place this runtime reads the time (tests give a MovableClock)
        self.clock: Clock = clock or SYSTEM
        self.db = Database(settings.effective_database_url, clock=self.clock)
        #: stable values from the database (read on first use); the rest follows ``secret_keys``
        self.keys = InstanceKeys(settings.secret_keys, stable=lambda keys: instance_secrets.load(self.db, keys))
        instance_secrets.prime(self.db, self.keys)
        self.state: StateStore = open_state_store(settings.redis_url, self.db, clock=self.clock)
        self.pm: pluggy.PluginManager = plugin_manager_for(settings, extra=extra_plugins)
        self.connector_specs = collect_named(self.pm, "broker_connectors", "connector")
        self.providers = collect_named(self.pm, "broker_providers", "provider")
        self.sigb = SigbGateway(
            self.connector_specs,
            self.state,
            self.keys,
            breaker_failures=settings.connector_breaker_failures,
            breaker_reset=settings.connector_breaker_reset,
            cache_seconds=settings.connector_cache_seconds,
            local_patrons=DatabaseLocalPatrons(self.db, self.keys),
            clock=self.clock,
        )
        #: usage events, written in batches off the request's path
        self.usage = UsageLog(self.db.engine, interval=settings.stats_flush_ms / 1000)
        #: signing and encryption keys, parsed once per process
        self.key_store = KeyStore(self.db, self.state, self.keys, settings, clock=self.clock)
        #: libraries with their partner, agreements and network, for the access decision
        self.libraries = LibraryCache(self.db, clock=self.clock)
        #: the patrons changed recently, to know when a session's snapshot may be trusted
        self.patron_changes = PatronChanges(self.db, clock=self.clock)
        #: each protocol's view of its enabled suppliers
        self.suppliers = SupplierRegistries(self.db, clock=self.clock)
        #: the OpenID provider, once the OIDC endpoints are mounted (back-channel logout signs with it)
        self.oidc_server: OidcServer | None = None

    # -- protocol components, built on first use --------------------------------------------
    @cached_property
    def cas_tickets(self) -> TicketStore:
        """The CAS service tickets (in the state store)."""
        from .providers.cas.tickets import TicketStore

        return TicketStore(self)

    @cached_property
    def saml_metadata(self) -> PublishedMetadata:
        """Sésame's SAML IdP metadata document, rebuilt when the key set changes."""
        from .providers.saml.idpmeta import PublishedMetadata

        return PublishedMetadata(self)

    @cached_property
    def saml_metadata_refresh(self) -> RefreshTick:
        """When this process may next look for suppliers' SAML metadata due for a refresh."""
        from .providers.saml.registry import RefreshTick

        return RefreshTick()

    def emit(self, event: Event) -> None:
        """Hand an event to every ``broker_event`` plugin."""
        self.pm.hook.broker_event(event=event)

    def close(self) -> None:
        self.usage.close()
        self.sigb.close()
        self.db.dispose()
