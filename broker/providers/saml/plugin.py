"""The SAML 2.0 identity provider as a Sésame plugin: endpoints, deep links, CLI commands, single logout."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ... import hookimpl
from .. import ProviderSpec

if TYPE_CHECKING:
    from ...runtime import Runtime


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


@hookimpl
def broker_patron_logout(runtime: Runtime, session):
    from .slo import patron_logout

    return patron_logout(runtime, session)
