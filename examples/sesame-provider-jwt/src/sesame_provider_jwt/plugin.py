"""The plugin module Sésame loads from the ``broker`` entry point group.

Everything it needs from Sésame comes from the provider kit
(``broker.providers.kit``): the issuance step, the refusal page, supplier
registration, and the ``broker suppliers add-jwt`` command generated from the
settings model.
"""

from __future__ import annotations

import logging
import os
import time
from urllib.parse import urlencode, urlsplit

from broker import hookimpl

try:
    from broker.providers import kit
except ImportError:  # a Sésame without the provider kit: offer nothing rather than break it
    kit = None

PROTOCOL = "jwt"
log = logging.getLogger("sesame_provider_jwt")


def blueprint(runtime):
    from flask import Blueprint

    return Blueprint("jwt_provider", __name__)  # no endpoints of its own: /go/<slug> calls issue()


def register(runtime, session, slug, settings, **common):
    stored = {"endpoint": settings.endpoint, "secret_env": settings.secret_env,
              "audience": settings.audience or settings.origin, "lifetime": settings.lifetime}
    return kit.register_supplier(runtime, session, slug, PROTOCOL, stored, **common)


def describe(row) -> dict:
    conf = kit.settings_of(row, PROTOCOL)
    return {**kit.describe_supplier(row), "endpoint": conf.get("endpoint", ""), "audience": conf.get("audience", ""),
            "lifetime": conf.get("lifetime", 60), "secret": f"environment variable {conf.get('secret_env', '?')}"}


#: released attributes (friendly names) → the claims the token carries
CLAIMS = {"library": "library", "network": "network", "mail": "email", "displayName": "name",
          "birthYear": "birth_year", "ageBracket": "age_bracket"}


def issue(runtime, supplier, patron, target):
    conf = kit.settings_of(supplier, PROTOCOL)
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(conf["endpoint"]))
    if target and not target.startswith(origin + "/"):
        return kit.error_page(400, "target_refused", "This link leads outside the supplier's site.")
    secret = os.environ.get(conf.get("secret_env", ""), "")
    if not secret:
        log.error("JWT key variable not set", extra={"event": {"supplier": supplier.slug}})
        return kit.error_page(503, "jwt_unavailable", "This resource is unavailable for now.")
    issuance = kit.issue(runtime, supplier, patron, PROTOCOL)
    if not issuance.granted:
        return kit.refusal_page(issuance.outcome)
    from flask import redirect

    from .token import encode

    now = int(time.time())
    claims = {"iss": runtime.settings.base_url, "aud": conf["audience"], "sub": issuance.subject, "iat": now,
              "exp": now + int(conf.get("lifetime", 60))}
    claims.update({claim: issuance.attributes[name][0] for name, claim in CLAIMS.items()
                   if issuance.attributes.get(name)})
    if target:
        claims["target"] = target
    log.info("JWT issued", extra={"event": {"supplier": supplier.slug}})
    response = redirect(f"{conf['endpoint']}?{urlencode({'jwt': encode(claims, secret.encode())})}", code=303)
    response.headers["Cache-Control"] = "no-store"
    return response


def spec():
    from broker.providers import ProviderSpec

    from .settings import JwtSettings

    return ProviderSpec(PROTOCOL, blueprint, issue=issue, settings_model=JwtSettings, register=register,
                        description="a short-lived HS256 JSON Web Token (example plugin)")


if kit is not None:

    @hookimpl
    def broker_providers():
        return [spec()]

    @hookimpl
    def broker_cli_commands():
        return [kit.suppliers_group(kit.supplier_command(spec(), describe=describe))]
