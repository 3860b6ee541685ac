"""Outbound protocols (SAML, OpenID Connect, CAS, signed links): provider plugins and their contract."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import hookimpl

if TYPE_CHECKING:
    from ..runtime import Runtime


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    """A protocol a plugin offers to suppliers.

    :param name: the protocol name stored on suppliers (``saml``, ``oidc``, ``cas``, ``link``).
    :param blueprint: ``blueprint(runtime) -> flask.Blueprint`` with the protocol's endpoints.
    :param deep_link: ``deep_link(supplier_row, target) -> url`` where ``/go/<supplier>``
        sends a granted patron (e.g. an IdP-initiated SSO URL); None → the supplier's login URL.
    :param csrf_exempt: protocol endpoints that take POSTs from other sites
        (SAML POST binding, token endpoints) verify their own messages instead.
    :param issue: ``issue(runtime, supplier_row, patron, target) -> response``: the provider
        answers ``/go/<supplier>`` itself for a logged-in patron (a protocol without
        endpoints of its own, such as signed links). It runs the issuance step
        (``providers.issuance.decide``), so the decision and the usage record are its own.
    :param settings_model: a pydantic model of the protocol's per-supplier settings
        (what the CLI, the API and admin forms ask for; see ``providers.kit``).
    :param register: ``register(runtime, session, slug, settings, *, networks, name, release,
        category, actor) -> Supplier``: registers a supplier with validated settings.
    :param description: one line naming the protocol for people (``broker plugins list``, forms).
    :param api_routes: ``api_routes(bp)`` adds the protocol's JSON routes to a blueprint mounted under
        the API (paths relative to ``/api/v1``); they use the API's guard ``web.api.auth.api_view``, parser
        ``web.api.bodies.json_body`` and error shape, and are described in ``/api/v1/openapi.json`` by
        ``openapi_paths`` (a module offering ``merge_into(document)``).
    """

    name: str
    blueprint: Callable[[Any], Any]
    deep_link: Callable[[Any, str | None], str] | None = None
    csrf_exempt: bool = True
    issue: Callable[..., Any] | None = None
    settings_model: Any = None
    register: Callable[..., Any] | None = None
    description: str = ""
    api_routes: Callable[[Any], None] | None = None


def supplier_commands_hook(module: str) -> Callable[[], list[Any]]:
    """The ``broker_cli_commands`` hook of a provider offering the ``suppliers`` group of ``module``
    (imported when the hook runs): ``broker_cli_commands = supplier_commands_hook("my_plugin.cli")``."""

    @hookimpl
    def broker_cli_commands() -> list[Any]:
        return [importlib.import_module(module).suppliers]

    return broker_cli_commands


def patron_logout_hook(module: str) -> Callable[..., Any]:
    """The ``broker_patron_logout`` hook of a provider whose ``module`` (imported when the hook runs)
    ends its sessions with ``patron_logout(runtime, session)``."""

    @hookimpl
    def broker_patron_logout(runtime: Runtime, session):
        return importlib.import_module(module).patron_logout(runtime, session)

    return broker_patron_logout
