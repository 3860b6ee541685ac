"""Test kit for connector authors: the connector contract suite and helpers to run backends in tests.

``from broker.testing import ConnectorContract, KnownPatron`` and subclass the
contract in a test module; see docs/connectors.md.
"""

from .contract import ConnectorContract, KnownPatron
from .net import free_port

__all__ = ["ConnectorContract", "KnownPatron", "free_port"]
