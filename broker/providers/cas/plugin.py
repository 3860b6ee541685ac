"""The CAS 3.0 server as a plugin: its endpoints, its deep link, its CLI command and single logout."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ... import hookimpl
from .. import ProviderSpec, patron_logout_hook, supplier_commands_hook

if TYPE_CHECKING:
    from ...runtime import Runtime


def blueprint(runtime: Runtime):
    from .views import make_blueprint

    return make_blueprint(runtime)


def deep_link(supplier, target: str | None) -> str:
    """Where ``/go/<slug>`` sends a patron: a ticket for the target (or the login URL) when it is a
    registered service URL, else the supplier's login URL."""
    from flask import url_for

    from .services import acceptable_url

    patterns = ((supplier.config or {}).get("cas") or {}).get("service_patterns") or []

    def registered(url: str | None) -> bool:
        return acceptable_url(url) and any(re.fullmatch(p, url) for p in patterns)

    for candidate in (target, supplier.login_url):
        if registered(candidate):
            return url_for("cas.login", service=candidate)
    if supplier.login_url:
        return supplier.login_url
    raise LookupError(f"supplier {supplier.slug} has no login URL")


@hookimpl
def broker_providers():
    return [ProviderSpec("cas", blueprint, deep_link)]


broker_cli_commands = supplier_commands_hook("broker.providers.cas.cli")
broker_patron_logout = patron_logout_hook("broker.providers.cas.slo")
