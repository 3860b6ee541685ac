"""Koha REST connector: patrons checked through Koha's REST API."""

from .connector import KohaConnector
from .settings import KohaSettings

__all__ = ["KohaConnector", "KohaSettings"]
