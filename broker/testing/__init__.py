"""Test kits for plugin authors: the connector and provider contract suites, and helpers to run backends in tests.

``from broker.testing import ConnectorContract, KnownPatron`` (see docs/connectors.md) or
``from broker.testing import Access, ProviderContract`` (see docs/plugins.md) and subclass
the contract in a test module. ``MovableClock`` moves a runtime's time forward instead of sleeping;
``capture_logs()`` records what the broker logs; ``broker.testing.sip2`` runs a SIP2 emulator and
``broker.testing.tls.make_pki`` makes a certificate authority for backends reached over TLS.
"""

from .clock import MovableClock
from .contract import ConnectorContract, KnownPatron
from .logs import CapturedLogs, capture_logs
from .net import free_port
from .providers import Access, ProviderContract, ProviderWorld, query_of, redirect_to

__all__ = ["Access", "CapturedLogs", "ConnectorContract", "KnownPatron", "MovableClock", "ProviderContract",
           "ProviderWorld", "capture_logs", "free_port", "query_of", "redirect_to"]
