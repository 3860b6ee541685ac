"""Test kits for plugin authors: the connector and provider contract suites, and helpers to run backends in tests.

``from broker.testing import ConnectorContract, KnownPatron`` (see docs/connectors.md) or
``from broker.testing import Access, ProviderContract`` (see docs/plugins.md) and subclass
the contract in a test module. ``MovableClock`` moves a runtime's time forward instead of sleeping.
"""

from .clock import MovableClock
from .contract import ConnectorContract, KnownPatron
from .net import free_port
from .providers import Access, ProviderContract, ProviderWorld

__all__ = ["Access", "ConnectorContract", "KnownPatron", "MovableClock", "ProviderContract", "ProviderWorld", "free_port"]
