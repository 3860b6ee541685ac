"""The patron portal: catalogue, library choice, login, registration, account, refusal pages.

``init_app(app)`` registers the ``portal`` blueprint. Providers import
``render_refusal`` from here to show the same refusal page as ``/go``.
"""

from __future__ import annotations

from flask import Flask, request, session

from ..patron_session import current_patron
from ..security_headers import allow_form_action_towards, register_form_target_resolver
from . import account, auth, cards, catalogue, libraries, pages, refusals  # noqa: F401  (they add the routes)
from .blueprint import bp
from .patron_page import runtime
from .refusals import refusal_link, render_refusal

LANG_COOKIE_AGE = 365 * 24 * 3600

__all__ = ["bp", "init_app", "render_refusal"]


@bp.after_app_request
def _remember_language(response):
    """``?lang=`` on any page is remembered, so the next pages keep the language."""
    asked = request.args.get("lang")
    if asked in ("fr", "en") and request.cookies.get("lang") != asked:
        response.set_cookie("lang", asked, max_age=LANG_COOKIE_AGE, httponly=True,
                            secure=runtime().settings.secure_cookies, samesite="Lax")
    return response


@bp.context_processor
def _patron() -> dict:
    return {"patron": current_patron(), "refusal_link": refusal_link}


@bp.after_request
def _no_store(response):
    """Patron pages show personal data: no shared cache keeps them."""
    response.headers.setdefault("Cache-Control", "no-store")
    if session.get("saml") and response.mimetype == "text/html":
        # the logout button on the page starts single logout: the browser may visit each supplier in turn
        allow_form_action_towards("/logout")
    return response


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    register_form_target_resolver(app, catalogue.go_form_targets)
