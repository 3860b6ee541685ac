"""The OpenID Connect provider as a plugin: its endpoints, its deep link, its CLI command, back-channel logout."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ... import hookimpl
from ...web.redirects import same_origin
from .. import ProviderSpec, patron_logout_hook, supplier_commands_hook

if TYPE_CHECKING:
    from ...runtime import Runtime


def blueprint(runtime: Runtime):
    from .views import make_blueprint

    return make_blueprint(runtime)


def deep_link(supplier, target: str | None) -> str:
    """Where ``/go/<slug>`` sends a patron: the supplier's login URL, or a target on the same site.

    The supplier's site starts the code flow itself; the broker never builds
    an authorization request on a client's behalf.
    """
    login_url = supplier.login_url or ""
    conf = (supplier.config or {}).get("oidc") or {}
    fallback = login_url
    if not fallback and conf.get("redirect_uris"):
        parts = urlsplit(conf["redirect_uris"][0])
        fallback = f"{parts.scheme}://{parts.netloc}/"
    if target and fallback:
        sent = same_origin(target, fallback)  # checked as the Location header will carry it
        if sent is not None:
            return sent
    if not fallback:
        raise LookupError(f"supplier {supplier.slug} has no login URL")
    return fallback


@hookimpl
def broker_providers():
    return [ProviderSpec("oidc", blueprint, deep_link)]


broker_cli_commands = supplier_commands_hook("broker.providers.oidc.cli")
broker_patron_logout = patron_logout_hook("broker.providers.oidc.backchannel")
