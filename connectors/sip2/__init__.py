"""SIP2 connector: 3M SIP2 2.00 over TCP/TLS, with a SIP2 server emulator for demos and tests."""

from .connector import Sip2Connector, Sip2Settings

__all__ = ["Sip2Connector", "Sip2Settings"]
