"""What every staff page shares: the logged-in user, the network's branding, labels and safe redirects."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from urllib.parse import urlencode

from flask import current_app, g, redirect, request, url_for
from flask_babel import lazy_gettext as _l

from ...services import staff, staff_desk
from ..patron_session import safe_next
from ..templating import Brand
from . import bp, staff_session

STATE_LABELS = {
    "pending": _l("En attente"),
    "active": _l("Active"),
    "refused": _l("Refusée"),
    "suspended": _l("Suspendue"),
    "expired": _l("Expirée"),
    "closed": _l("Clôturée"),
}
TRANSITION_LABELS = {
    "register": _l("Inscription"),
    "approve": _l("Validation"),
    "refuse": _l("Refus"),
    "suspend": _l("Suspension"),
    "reactivate": _l("Réactivation"),
    "expire": _l("Expiration"),
    "close": _l("Clôture"),
    "import": _l("Import"),
}
SIGB_LABELS = {
    "found": _l("Connue du SIGB"),
    "unknown": _l("Inconnue du SIGB"),
    "unavailable": _l("SIGB injoignable pour le moment"),
    "no_card": _l("Numéro de carte non conservé"),
    "mismatch": _l("Ce numéro ne correspond pas à cette inscription"),
}
PROBLEM_LABELS = {"expired": _l("carte expirée"), "lost": _l("carte perdue"), "blocked": _l("carte bloquée")}


def runtime():
    return current_app.extensions["broker"]


def client_ip() -> str:
    return request.remote_addr or "unknown"


def staff_next(target: str | None) -> str:
    """Only staff pages are valid redirect targets after a login or an action."""
    default = url_for("staff.dashboard")
    target = safe_next(target, default)
    return target if target.startswith("/staff/") else default


def brand_for(user) -> None:
    """Brand the staff pages with the network when all of the user's roles are in one."""
    networks = {r.network for r in user.roles if r.network is not None}
    networks |= {r.library.partner.network for r in user.roles if r.library is not None}
    if len(networks) == 1:
        net = networks.pop()
        g.brand = Brand.from_network(net.name, net.branding or {})


def serve_as(user) -> None:
    """The page is ``user``'s: the templates' ``staff_user`` and ``staff_admin``, the network's branding."""
    g.staff_user = user
    g.staff_admin = staff.is_admin(user)
    brand_for(user)


def staff_view(view: Callable) -> Callable:
    """Run ``view(rt, db, user, **kwargs)`` for a logged-in staff user; others go to the login page."""

    @wraps(view)
    def wrapper(**kwargs):
        rt = runtime()
        with staff_desk.audited_denials(rt), rt.db.session() as db:
            user = staff_session.current(rt, db)
            if user is None:
                target = request.full_path.rstrip("?") if request.method == "GET" else url_for("staff.dashboard")
                return redirect(f"{url_for('staff.login')}?{urlencode({'next': staff_next(target)})}")
            serve_as(user)
            return view(rt, db, user, **kwargs)

    return wrapper


@bp.context_processor
def labels() -> dict:
    return {
        "state_label": lambda s: STATE_LABELS.get(s, s),
        "transition_label": lambda t: TRANSITION_LABELS.get(t, t),
        "sigb_label": lambda s: SIGB_LABELS.get(s, s),
        "problem_label": lambda p: PROBLEM_LABELS.get(p, p),
        "staff_user": g.get("staff_user"),
        "staff_admin": g.get("staff_admin", False),
        "all_states": list(STATE_LABELS),
    }


@bp.after_request
def no_store(response):
    # staff pages show personal data: keep them out of shared caches and the back-forward cache
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Frame-Options", "DENY")
    return response
