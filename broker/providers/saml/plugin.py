"""The SAML 2.0 identity provider as a Sésame plugin: endpoints, deep links, CLI commands, single logout."""

from __future__ import annotations

from ... import hookimpl
from .. import ProviderSpec, patron_logout_hook


def api_routes(bp):
    from .api import routes

    routes(bp)


@hookimpl
def broker_providers():
    from .views import deep_link, make_blueprint

    return [ProviderSpec("saml", make_blueprint, deep_link, api_routes=api_routes)]


@hookimpl
def broker_cli_commands():
    from .cli import keys, suppliers

    return [keys, suppliers]


broker_patron_logout = patron_logout_hook("broker.providers.saml.slo")
