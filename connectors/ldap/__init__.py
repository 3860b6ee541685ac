"""LDAP connector: patrons authenticated against a library's directory."""

from .connector import LdapConnector
from .settings import LdapAttributeMap, LdapSettings

__all__ = ["LdapAttributeMap", "LdapConnector", "LdapSettings"]
