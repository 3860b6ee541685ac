"""Turn every error into a clear page or JSON body with a 4xx/503: never a traceback."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from ..errors import BrokerError

log = logging.getLogger("broker.web")


def wants_json() -> bool:
    if request.path.startswith(("/api/", "/oidc/", "/cas/p3/", "/.well-known/")):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


TITLES = {
    400: lambda: _("La demande n'est pas valide"),
    403: lambda: _("Accès interdit"),
    404: lambda: _("Page introuvable"),
    405: lambda: _("Méthode non autorisée"),
    409: lambda: _("Conflit"),
    413: lambda: _("Demande trop volumineuse"),
    429: lambda: _("Trop de tentatives"),
    503: lambda: _("Service momentanément indisponible"),
}


def message_of(exc: BrokerError) -> str:
    """An error's message in the page's language: the services give theirs in French, with a msgid to translate."""
    text = exc.translatable
    if text is None:
        return exc.message
    return _(text.msgid, **text.params)


def error_response(status: int, code: str, message: str):
    if wants_json():
        return jsonify(error=code, message=message), status
    title = TITLES.get(status, lambda: _("Erreur"))()
    return render_template("error.html", status=status, title=title, message=message, code=code), status


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        return error_response(400, "csrf", _("Le formulaire a expiré ou n'est pas valide. Rechargez la page et recommencez."))

    @app.errorhandler(BrokerError)
    def broker_error(exc: BrokerError):
        if exc.status >= 500 and exc.status != 503:
            log.exception("unexpected broker error")
        return error_response(exc.status, exc.code, message_of(exc))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        if status >= 500:
            status = 503 if status == 503 else 500
        return error_response(status, exc.name.lower().replace(" ", "_"), exc.description or exc.name)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        from sqlalchemy.exc import InterfaceError, OperationalError

        if isinstance(exc, (OperationalError, InterfaceError, ConnectionError, TimeoutError)):
            log.warning("backing service unavailable: %s", type(exc).__name__)
            return error_response(503, "unavailable", _("Le service est momentanément indisponible. Réessayez dans quelques instants."))
        log.exception("unexpected error")
        return error_response(500, "internal", InternalServerError.description)
