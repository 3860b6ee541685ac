"""Bearer-token authentication of API calls."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps

from flask import current_app, g, jsonify, request
from flask_babel import gettext as _

from ...errors import BrokerError
from ...services import staff, staff_auth, staff_desk
from . import bp

_TOKEN = re.compile(r"^Bearer ([A-Za-z0-9_\-]{10,200})$")


class Unauthorized(BrokerError):
    """No valid API token: missing, unknown or revoked."""

    code = "unauthorized"
    status = 401


@bp.errorhandler(Unauthorized)
def unauthorized(exc: Unauthorized):
    response = jsonify(error=exc.code, message=exc.message)
    response.status_code = 401
    response.headers["WWW-Authenticate"] = 'Bearer realm="sesame"'
    return response


def api_view(view: Callable) -> Callable:
    """Run ``view(rt, db, user, **kwargs)`` for the staff user owning the bearer token."""

    @wraps(view)
    def wrapper(**kwargs):
        rt = current_app.extensions["broker"]
        match = _TOKEN.match(request.headers.get("Authorization", "").strip())
        if match is None:
            raise Unauthorized(_("Jeton d'API manquant : envoyez l'en-tête Authorization: Bearer <jeton>."))
        # the token check writes last_used_at: committed apart, so the work below never waits on it
        with rt.db.session() as auth_db:
            owner = staff.user_for_token(rt, auth_db, match.group(1))
            user_id = owner.id if owner is not None else None
        if user_id is None:
            raise Unauthorized(_("Jeton d'API inconnu ou révoqué."))
        with staff_desk.audited_denials(rt), rt.db.session() as db:
            user = staff_auth.load_user(db, user_id)
            g.staff_user = user
            result = view(rt, db, user, **kwargs)
        return result

    return wrapper


@bp.after_request
def no_store(response):
    response.headers.setdefault("Cache-Control", "no-store")
    return response
