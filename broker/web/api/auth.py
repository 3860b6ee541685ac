"""Bearer-token authentication of API calls."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps

from flask import current_app, g, jsonify, request
from flask_babel import gettext as _

from ...errors import BrokerError
from ...services import staff, staff_auth, staff_desk
from ..errors import message_of
from . import bp

_TOKEN = re.compile(r"^Bearer ([A-Za-z0-9_\-]{10,200})$")


class Unauthorized(BrokerError):
    """No valid API token: missing, unknown or revoked."""

    code = "unauthorized"
    status = 401


class TokenExpired(Unauthorized):
    """The token was valid but its lifetime is over (RFC 6750 ``invalid_token``)."""

    code = "token_expired"


@bp.errorhandler(Unauthorized)
def unauthorized(exc: Unauthorized):
    response = jsonify(error=exc.code, message=message_of(exc))
    response.status_code = 401
    challenge = 'Bearer realm="sesame"'
    if isinstance(exc, TokenExpired):
        challenge += ', error="invalid_token", error_description="The access token expired"'
    response.headers["WWW-Authenticate"] = challenge
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
            checked = staff.check_token(rt, auth_db, match.group(1))
            user_id = checked.user.id if checked.user is not None else None
        if checked.expired_at is not None:
            raise TokenExpired(_("Ce jeton d'API a expiré le %(date)s (UTC) : renouvelez-le ou créez-en un autre "
                                 "dans l'espace professionnel, page « Jetons d'API ».",
                                 date=checked.expired_at.strftime("%d/%m/%Y %H:%M")))
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
