"""Signed links as a provider plugin: ``/go/<slug>`` issues them, ``broker suppliers add-link`` registers them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ... import hookimpl
from .. import ProviderSpec, supplier_commands_hook

if TYPE_CHECKING:
    from ...runtime import Runtime


def blueprint(runtime: Runtime):
    """No endpoints of its own: ``/go/<slug>`` issues the links; the API routes are ``api.routes``."""
    from flask import Blueprint

    return Blueprint("link", __name__)


def api_routes(bp):
    from .api import routes

    routes(bp)


def issue(runtime: Runtime, supplier, patron, target):
    from .issue import issue as issue_link

    return issue_link(runtime, supplier, patron, target)


def register(runtime: Runtime, session, slug, settings, **common):
    from .suppliers import register as register_link

    return register_link(runtime, session, slug, settings, **common)


def spec() -> ProviderSpec:
    from .settings import LinkSettings

    return ProviderSpec("link", blueprint, issue=issue, settings_model=LinkSettings, register=register,
                        api_routes=api_routes,
                        description="signed links: a URL with the patron's pairwise identifier, a time and "
                                    "a keyed hash")


@hookimpl
def broker_providers():
    return [spec()]


broker_cli_commands = supplier_commands_hook("broker.providers.link.cli")
