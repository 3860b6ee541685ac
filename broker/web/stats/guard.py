"""Who may see which figures: the staff session (the API's token guard is ``web.api.auth.api_view``), then the scope.

A referent sees their libraries; a network admin their network and every
library in it. Asking for anything else is refused (403) and written to the
audit trail as ``denied``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from flask import current_app, redirect, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.routing import BuildError

from ...db.models import Library, Network
from ...db.stats_models import StatsMonth
from ...errors import Forbidden, InvalidInput, NotFound, Unauthorized
from ...services import audit, staff, validation
from ...services.libraries import get_library
from ...services.network import get_network
from ...services.stats.months import Month
from ..staff import staff_session
from ..staff.guard import serve_as

if TYPE_CHECKING:
    from ...runtime import Runtime


def runtime():
    return current_app.extensions["broker"]


def staff_page(view: Callable) -> Callable:
    """Run ``view(rt, db, user, **kwargs)`` for the logged-in staff user; others go to the staff login."""

    @wraps(view)
    def wrapper(**kwargs):
        rt = runtime()
        with rt.db.session() as db:
            user = staff_session.current(rt, db)
            if user is None:
                try:
                    login = url_for("staff.login")
                except BuildError:  # no staff pages in this installation
                    raise Unauthorized(_("Connectez-vous à l'espace professionnel.")) from None
                target = request.full_path.rstrip("?")
                return redirect(f"{login}?{urlencode({'next': target})}")
            serve_as(user)
            return view(rt, db, user, **kwargs)

    return wrapper


def deny(rt: Runtime, user, action: str, target: str) -> Forbidden:
    audit.record_now(rt, user.email, action, target, outcome="denied")
    return Forbidden(_("Ces statistiques sont hors de votre périmètre."), code="out_of_scope")


def library_in_scope(rt: Runtime, db: Session, user, code: str, action: str = "stats.view") -> Library:
    try:
        validation.library_code(code)
    except InvalidInput:
        raise NotFound(_("Bibliothèque inconnue : %(code)s", code=code[:64]), code="unknown_library") from None
    try:
        lib = get_library(db, code)
    except NotFound:
        raise NotFound(_("Bibliothèque inconnue : %(code)s", code=code[:64]), code="unknown_library") from None
    if not staff.scope_of(user).covers(lib):
        raise deny(rt, user, action, lib.code)
    return lib


def network_in_scope(rt: Runtime, db: Session, user, slug: str, action: str = "stats.view") -> Network:
    try:
        validation.slug(slug, "network")
        network = get_network(db, slug)
    except (InvalidInput, NotFound):
        raise NotFound(_("Réseau inconnu : %(slug)s", slug=slug[:64]), code="unknown_network") from None
    if network.id not in staff.scope_of(user).admin_networks:
        raise deny(rt, user, action, network.slug)
    return network


def month_arg(db: Session, name: str = "month") -> Month:
    """The month asked for (400 when malformed or in the future); default: the latest aggregated one."""
    value = request.args.get(name)
    now = runtime().clock.utcnow()
    if value:
        return Month.parse(value, now=now)
    latest = db.scalar(select(func.max(StatsMonth.month)).where(StatsMonth.month <= str(Month.current(now))))
    return Month.parse(latest, now=now) if latest else Month.current(now)


def count_arg(name: str = "months", default: int = 12, maximum: int = 36) -> int:
    value = request.args.get(name)
    if value is None:
        return default
    if not value.isdigit() or not 1 <= int(value) <= maximum:
        raise InvalidInput(_("%(name)s : un nombre de 1 à %(max)d.", name=name, max=maximum), code="invalid_count")
    return int(value)
