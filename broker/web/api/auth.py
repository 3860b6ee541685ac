"""Bearer-token authentication of API calls: the one guard of every /api/v1 route.

``api_view`` checks the token, then runs the view in a unit of work for its
owner; an out-of-scope attempt raised inside (``staff_desk.deny``) is written
to the audit log as ``denied`` once that unit of work is rolled back.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps

from flask import current_app, g, request
from flask_babel import gettext as _

from ...errors import TokenExpired, Unauthorized
from ...services import staff, staff_auth, staff_desk

__all__ = ["TokenExpired", "Unauthorized", "api_view", "bearer_token"]

_TOKEN = re.compile(r"^Bearer ([A-Za-z0-9_\-]{10,200})$")


def bearer_token() -> str:
    """The token of the ``Authorization: Bearer`` header; Unauthorized when there is none."""
    match = _TOKEN.match(request.headers.get("Authorization", "").strip())
    if match is None:
        raise Unauthorized(_("Jeton d'API manquant : envoyez l'en-tête Authorization: Bearer <jeton>."))
    return match.group(1)


def api_view(view: Callable) -> Callable:
    """Run ``view(rt, db, user, **kwargs)`` for the staff user owning the bearer token."""

    @wraps(view)
    def wrapper(**kwargs):
        rt = current_app.extensions["broker"]
        token = bearer_token()
        # the token check writes last_used_at: committed apart, so the work below never waits on it
        with rt.db.session() as auth_db:
            checked = staff.check_token(rt, auth_db, token)
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
            return view(rt, db, user, **kwargs)

    return wrapper
