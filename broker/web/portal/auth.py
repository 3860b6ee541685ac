"""Log in, register, log out."""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from ...domain.access import Reason, Refusal
from ...errors import NotFound
from ...plugins.manager import call_each
from ...services import login as login_service
from ...services import registration, suppliers
from ...services.card_check import CardCheckFailure
from ...services.registration import RegistrationOutcome
from .. import patron_session
from ..patron_session import current_patron, safe_next
from ..security_headers import allow_form_action_towards
from .blueprint import bp
from .forms import credentials_message, library_groups, locked_message, messages, rate_limited_message
from .patron_page import apply_brand, chosen_library, client_ip, load_library, remember_library, runtime
from .refusals import render_refusal

log = logging.getLogger("broker.portal")
_GO = re.compile(r"^/go/([A-Za-z0-9][A-Za-z0-9_-]{0,63})$")


def _preselected():
    """The library asked by ``?library=`` (or the form), else the remembered one."""
    return load_library(request.values.get("library")) or chosen_library()


def resource_name(next_url: str) -> str:
    """The name of the resource a login leads to (``next`` is ``/go/<supplier>``), else ""."""
    found = _GO.match(urlsplit(next_url or "").path)
    if found is None:
        return ""
    with runtime().db.session() as session:
        try:
            supplier = suppliers.get_supplier(session, found.group(1))
        except NotFound:
            return ""
        return supplier.name if supplier.enabled else ""


def _form(template: str, status: int = 200, *, errors: dict[str, str] | None = None, alert: str = "", **values):
    library = _preselected()
    apply_brand(library)
    next_url = safe_next(request.values.get("next"), "")
    allow_form_action_towards(next_url)  # the form's answer redirects there, maybe on to a supplier
    return render_template(template, groups=library_groups(), library=library, errors=errors or {},
                           alert=alert, next_url=next_url, resource=resource_name(next_url),
                           values=values, patron=current_patron()), status


@bp.route("/login", methods=["GET", "POST"])
def login():
    next_url = safe_next(request.values.get("next"), url_for("portal.home"))
    if request.method == "GET":
        if current_patron() is not None and not request.args.get("renew"):
            return redirect(next_url)
        return _form("portal/login.html")
    card = request.form.get("card", "")
    result = login_service.login(runtime(), request.form.get("library"), card, request.form.get("password"),
                                 ip=client_ip())
    if result.ok:
        patron_session.start(result.uid, result.library, result.network, result.facts, at=runtime().clock.wall())
        response = redirect(next_url)
        remember_library(response, result.library)
        return response
    keep = {"card": card[:64]}
    if result.outcome is CardCheckFailure.INVALID:
        return _form("portal/login.html", 400, errors=messages(result.errors), **keep)
    if result.outcome is CardCheckFailure.RATE_LIMITED:
        body, status = _form("portal/login.html", 429, alert=rate_limited_message(result.retry_after), **keep)
        return body, status, {"Retry-After": str(max(1, result.retry_after))}
    if result.outcome is CardCheckFailure.CREDENTIALS:
        alert = locked_message(result.retry_at) if result.retry_at else credentials_message()
        return _form("portal/login.html", 400, alert=alert, **keep)
    library = load_library(result.library)
    refusal = {CardCheckFailure.SIGB_UNAVAILABLE: Refusal(Reason.SIGB_UNAVAILABLE),
               CardCheckFailure.CARD_INVALID: Refusal(Reason.CARD_INVALID, result.detail),
               CardCheckFailure.NOT_REGISTERED: Refusal(Reason.NOT_REGISTERED)}[result.outcome]
    return render_refusal(refusal, library)


@bp.route("/register", methods=["GET", "POST"])
def register():
    if request.method == "GET":
        return _form("portal/register.html")
    card = request.form.get("card", "")
    email = request.form.get("email", "")
    result = registration.register(runtime(), request.form.get("library"), card, request.form.get("password"),
                                   email, request.form.get("consent") == "yes", ip=client_ip())
    keep = {"card": card[:64], "email": email[:254], "consent": request.form.get("consent") == "yes"}
    if result.registered:
        patron_session.start(result.uid, result.library, result.network, at=runtime().clock.wall())
        if result.outcome is RegistrationOutcome.ACTIVE:
            flash(_("Votre inscription est validée : vous pouvez utiliser les ressources numériques. "
                    "Un e-mail de confirmation vous a été envoyé."), "success")
        else:
            flash(_("Votre inscription est enregistrée. Votre bibliothèque va la vérifier ; vous recevrez "
                    "un e-mail dès sa décision."), "success")
        response = redirect(url_for("portal.account"))
        remember_library(response, result.library)
        return response
    if result.outcome is CardCheckFailure.INVALID:
        return _form("portal/register.html", 400, errors=messages(result.errors), **keep)
    if result.outcome is CardCheckFailure.RATE_LIMITED:
        return _form("portal/register.html", 429, alert=rate_limited_message(), **keep)
    if result.outcome is CardCheckFailure.CREDENTIALS:
        alert = locked_message(result.retry_at) if result.retry_at else credentials_message()
        return _form("portal/register.html", 400, alert=alert, **keep)
    if result.outcome is RegistrationOutcome.DUPLICATE:
        return _form("portal/register.html", 409, duplicate=True, alert=_(
            "Cette carte est déjà inscrite. Connectez-vous avec votre carte et votre mot de passe pour "
            "voir votre compte."), **keep)
    library = load_library(result.library)
    refusal = {CardCheckFailure.SIGB_UNAVAILABLE: Refusal(Reason.SIGB_UNAVAILABLE),
               CardCheckFailure.CARD_INVALID: Refusal(Reason.CARD_INVALID, result.detail)}[result.outcome]
    return render_refusal(refusal, library)


@bp.get("/logout")
def logout_confirm():
    """Logged in: confirm with a button (logout is a POST). Logged out: say so."""
    apply_brand(chosen_library())
    patron = current_patron()
    told = [] if patron else [n for n in session.pop("logout_told", []) if isinstance(n, str)][:50]
    return render_template("portal/logout.html", patron=patron, told=told)


def end_session() -> None:
    """Log the patron out: the ``broker_patron_logout`` hooks first (single logout), then the session.

    The one place a patron's session ends with the suppliers told: the portal's
    logout, a closed account and the providers' logout endpoints all come here.
    """
    rt = runtime()
    told: set[str] = set()
    for plugin, names, exc in call_each(rt.pm, "broker_patron_logout", runtime=rt, session=session):
        if exc is not None:  # a provider's single logout must never keep a patron logged in
            log.error("logout hook failed", extra={"event": {"hook": plugin, "error": type(exc).__name__}})
            continue
        told.update(name for name in names or () if isinstance(name, str))
    patron_session.end()
    if told:  # the suppliers told of the logout, shown once by the page that follows
        session["logout_told"] = sorted(told)


@bp.post("/logout")
def logout():
    end_session()
    # the session is gone, so no flash message: the GET page says it
    return redirect(url_for("portal.logout"))
