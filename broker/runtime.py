"""The running broker without its web layer: settings, clock, database, state, plugins, SIGB gateway.

The Flask app keeps one Runtime in ``app.extensions["broker"]``; the CLI uses
the same object, so both follow the same rules.
"""

from __future__ import annotations

from typing import Any

import pluggy

from . import instance_secrets
from .clock import SYSTEM, Clock
from .config import Settings
from .crypto import InstanceKeys
from .db import Database
from .events import Event
from .plugins.manager import collect_named, make_plugin_manager
from .services.usage_log import UsageLog
from .sigb import SigbGateway
from .state import StateStore, open_state_store


class Runtime:
    def __init__(self, settings: Settings, *, extra_plugins: tuple[Any, ...] = (), clock: Clock | None = None) -> None:
        self.settings = settings
        #: the one place this runtime reads the time (tests give a MovableClock)
        self.clock: Clock = clock or SYSTEM
        self.db = Database(settings.effective_database_url, clock=self.clock)
        #: stable values from the database (read on first use); the rest follows ``secret_keys``
        self.keys = InstanceKeys(settings.secret_keys, stable=lambda keys: instance_secrets.load(self.db, keys))
        instance_secrets.prime(self.db, self.keys)
        self.state: StateStore = open_state_store(settings.redis_url, self.db, clock=self.clock)
        self.pm: pluggy.PluginManager = make_plugin_manager(
            load_entrypoints=settings.plugins_load_entrypoints,
            disabled=settings.plugins_disabled,
            extra=extra_plugins,
        )
        self.connector_specs = collect_named(self.pm, "broker_connectors", "connector")
        self.providers = collect_named(self.pm, "broker_providers", "provider")
        self.sigb = SigbGateway(
            self.connector_specs,
            self.state,
            self.keys,
            breaker_failures=settings.connector_breaker_failures,
            breaker_reset=settings.connector_breaker_reset,
            cache_seconds=settings.connector_cache_seconds,
            services={"runtime": self},
            clock=self.clock,
        )
        #: usage events, written in batches off the request's path
        self.usage = UsageLog(self.db.engine, interval=settings.stats_flush_ms / 1000)
        #: per-process caches that services may keep (each with its own invalidation)
        self.caches: dict[str, Any] = {}

    def emit(self, event: Event) -> None:
        """Hand an event to every ``broker_event`` plugin."""
        self.pm.hook.broker_event(event=event)

    def close(self) -> None:
        self.usage.close()
        self.sigb.close()
        self.db.dispose()
