"""The JSON API under /api/v1 for scripts and SIGBs, authenticated with per-staff bearer tokens.

Every /api/v1 route hangs off the one blueprint ``bp``: its own routes, and the
areas mounted under it with :func:`mount` (network administration, statistics,
the providers' supplier registration). They all share the bearer-token guard
(``auth.api_view``), the JSON body parser (``bodies.json_body``), the error
shape ``{"error", "message"}`` with ``WWW-Authenticate`` on 401, ``Cache-Control:
no-store``, and one OpenAPI document (``spec.openapi_document``).
"""

from __future__ import annotations

from flask import Blueprint, Flask, jsonify

from ...errors import TokenExpired, Unauthorized
from ...services.field_errors import FieldError
from ..errors import message_of

bp = Blueprint("api", __name__, url_prefix="/api/v1")


# -- one error shape and one cache policy for /api/v1 (mounted blueprints included) -------------
@bp.errorhandler(Unauthorized)
def unauthorized(exc: Unauthorized):
    """401 with the error body and an RFC 6750 challenge."""
    response = jsonify(error=exc.code, message=message_of(exc))
    response.status_code = 401
    challenge = 'Bearer realm="sesame"'
    if isinstance(exc, TokenExpired):
        challenge += ', error="invalid_token", error_description="The access token expired"'
    response.headers["WWW-Authenticate"] = challenge
    return response


@bp.errorhandler(FieldError)
def field_error(exc: FieldError):
    """400 naming the field at fault in ``field``, the message in the caller's language."""
    from ..staff.admin_guard import field_message

    return jsonify(error=exc.code, message=field_message(exc), field=exc.field), 400


@bp.after_request
def no_store(response):
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def mount(app: Flask, child: Blueprint) -> None:
    """Register ``child`` under the API blueprint: ``/api/v1`` + its own prefix, endpoints ``api.<name>.…``.

    A mounted blueprint is nested in ``bp`` for Flask (its endpoints start with ``api.``), so the API's
    error handlers and response hooks apply to it too; it is CSRF-exempt like the rest of the API.
    Unlike ``bp.register_blueprint``, it works per app, after ``bp`` is registered (statistics,
    providers' per-app blueprints).
    """
    app.extensions["csrf"].exempt(child)
    app.register_blueprint(child, name_prefix=bp.name, url_prefix=(bp.url_prefix or "") + (child.url_prefix or ""))


def provider_routes(app: Flask) -> None:
    """Mount each provider's API routes (``ProviderSpec.api_routes``) on a blueprint of their own."""
    for name, provider in sorted(app.extensions["broker"].providers.items()):
        if provider.api_routes is None:
            continue
        child = Blueprint(f"{name}_api", provider.api_routes.__module__)
        provider.api_routes(child)
        mount(app, child)


def init_app(app: Flask) -> None:
    """Register the API; it is CSRF-exempt because no cookie authenticates it, only the bearer token."""
    # the routes attach to ``bp`` and to ``admin_bp`` (network administration: partners, fees, staff
    # accounts, libraries, linked cards, suppliers of every protocol and their SUSHI accounts)
    from . import counter_routes, person_routes, providers, routes, supplier_routes  # noqa: F401
    from .admin_routes import admin_bp

    app.extensions["csrf"].exempt(bp)
    app.register_blueprint(bp)
    mount(app, admin_bp)
    provider_routes(app)
