"""Outbound protocols (SAML, OpenID Connect, CAS): provider plugins and their contract."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    """A protocol a plugin offers to suppliers.

    :param name: the protocol name stored on suppliers (``saml``, ``oidc``, ``cas``).
    :param blueprint: ``blueprint(runtime) -> flask.Blueprint`` with the protocol's endpoints.
    :param deep_link: ``deep_link(supplier_row, target) -> url`` where ``/go/<supplier>``
        sends a patron (e.g. an IdP-initiated SSO URL); None → the supplier's login URL.
    :param csrf_exempt: protocol endpoints that take POSTs from other sites
        (SAML POST binding, token endpoints) verify their own messages instead.
    """

    name: str
    blueprint: Callable[[Any], Any]
    deep_link: Callable[[Any, str | None], str] | None = None
    csrf_exempt: bool = True
