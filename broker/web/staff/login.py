"""Staff login (password, then TOTP or TOTP enrolment), logout, and the referent's TOTP settings."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from ...services import staff, staff_auth
from . import bp, staff_session
from .guard import client_ip, runtime, staff_next, staff_view

if TYPE_CHECKING:
    from ...runtime import Runtime


def _locked_out(email: str = ""):
    """The login page again, saying to wait; the same whether or not the address exists."""
    staff_session.end()
    return render_template("staff/login.html", next=url_for("staff.dashboard"), email=email[:254],
                           error=_("Trop de tentatives. Attendez quelques minutes avant de réessayer.")), 429


def _grouped(secret: str) -> str:
    """The secret in groups of four, easier to type into an authenticator app."""
    return " ".join(re.findall(".{1,4}", secret))


@bp.route("/login", methods=["GET", "POST"])
def login():
    rt = runtime()
    next_url = staff_next(request.values.get("next"))
    if request.method == "GET":
        with rt.db.session() as db:
            if staff_session.current(rt, db) is not None:
                return redirect(next_url)
        return render_template("staff/login.html", next=next_url, email="")
    email = request.form.get("email", "")
    try:
        with rt.db.session() as db:
            step = staff_auth.check_password(rt, db, email, request.form.get("password", ""), client_ip())
            if step is not None and step.next == "done":
                staff_session.start(rt, db, staff_auth.load_user(db, step.user_id))
    except staff_auth.TooManyAttempts:
        return _locked_out(email)
    if step is None:
        return render_template("staff/login.html", next=next_url, email=email[:254],
                               error=_("Adresse ou mot de passe incorrect.")), 401
    if step.next == "done":
        return redirect(next_url, 303)
    staff_session.begin_pending(step.user_id, now=runtime().clock.wall())
    session["staff_next"] = next_url
    target = "staff.login_enrol" if step.next == "enrol" else "staff.login_totp"
    return redirect(url_for(target), 303)


def _pending_user(db):
    data = staff_session.pending(runtime().clock.wall())
    if data is None:
        return None, None
    return data, staff_auth.load_user(db, data["id"])


@bp.route("/login/totp", methods=["GET", "POST"])
def login_totp():
    rt = runtime()
    with rt.db.session() as db:
        data, user = _pending_user(db)
        if user is None or user.totp_secret is None:
            flash(_("Reprenez la connexion depuis le début."), "error")
            return redirect(url_for("staff.login"), 303)
        if request.method == "GET":
            return render_template("staff/totp.html")
        try:
            ok = staff_auth.check_code(rt, db, user, request.form.get("code", ""), client_ip())
        except staff_auth.TooManyAttempts:
            return _locked_out()
        if not ok:
            return render_template("staff/totp.html", error=_("Code incorrect ou déjà utilisé.")), 401
        next_url = staff_next(session.pop("staff_next", None))
        staff_session.start(rt, db, user)
    return redirect(next_url, 303)


@bp.route("/login/enrol", methods=["GET", "POST"])
def login_enrol():
    """First login of a network admin: set up the authenticator app, then log in."""
    rt = runtime()
    with rt.db.session() as db:
        data, user = _pending_user(db)
        if user is None or not staff_auth.needs_enrolment(user):
            flash(_("Reprenez la connexion depuis le début."), "error")
            return redirect(url_for("staff.login"), 303)
        secret = staff_auth.unseal(rt, data.get("secret"))
        if secret is None:
            secret = staff_auth.new_secret()
            staff_session.begin_pending(user.id, staff_auth.seal(rt, secret), now=rt.clock.wall())
        if request.method == "POST":
            try:
                ok = staff_auth.enrol(rt, db, user, secret, request.form.get("code", ""), client_ip())
            except staff_auth.TooManyAttempts:
                return _locked_out()
            if ok:
                next_url = staff_next(session.pop("staff_next", None))
                staff_session.start(rt, db, user)
                flash(_("La double authentification est activée."), "success")
                return redirect(next_url, 303)
        error = None
        if request.method == "POST":
            error = _("Code incorrect. Vérifiez l'heure de votre téléphone et réessayez.")
        return render_template("staff/enrol.html", secret=_grouped(secret),
                               uri=staff_auth.otpauth_uri(secret, user.email), error=error,
                               action=url_for("staff.login_enrol"), first_login=True), (401 if error else 200)


@bp.post("/logout")
def logout():
    rt = runtime()
    with rt.db.session() as db:
        user = staff_session.current(rt, db)
        if user is not None:
            from ...services import audit

            audit.record(rt, db, user.email, "staff.logout", user.email)
    staff_session.end()
    flash(_("Vous êtes déconnecté."), "success")
    return redirect(url_for("staff.login"), 303)


@bp.route("/security", methods=["GET", "POST"])
@staff_view
def security(rt: Runtime, db, user):
    """TOTP for referents: turn it on (with the enrolment page) or off (with a current code)."""
    enrolled = user.totp_secret is not None
    if request.method == "POST":
        action = request.form.get("action")
        try:
            if action == "enable" and not enrolled:
                secret = staff_auth.unseal(rt, session.get("staff_enrol"))
                if secret is None:
                    return redirect(url_for("staff.security"), 303)
                if staff_auth.enrol(rt, db, user, secret, request.form.get("code", ""), client_ip()):
                    session.pop("staff_enrol", None)
                    flash(_("La double authentification est activée."), "success")
                    return redirect(url_for("staff.security"), 303)
                return render_template("staff/enrol.html", secret=_grouped(secret),
                                       uri=staff_auth.otpauth_uri(secret, user.email), first_login=False,
                                       action=url_for("staff.security"),
                                       error=_("Code incorrect. Vérifiez l'heure de votre téléphone "
                                               "et réessayez.")), 401
            if action == "disable" and enrolled:
                if staff_auth.disable(rt, db, user, request.form.get("code", ""), client_ip()):
                    flash(_("La double authentification est désactivée."), "success")
                    return redirect(url_for("staff.security"), 303)
                flash(_("Code incorrect, ou désactivation impossible pour un administrateur."), "error")
                return redirect(url_for("staff.security"), 303)
        except staff_auth.TooManyAttempts:
            flash(_("Trop de tentatives. Attendez quelques minutes avant de réessayer."), "error")
            return redirect(url_for("staff.security"), 303)
    if request.method == "GET" and request.args.get("enrol") and not enrolled:
        secret = staff_auth.new_secret()
        session["staff_enrol"] = staff_auth.seal(rt, secret)
        return render_template("staff/enrol.html", secret=_grouped(secret),
                               uri=staff_auth.otpauth_uri(secret, user.email), first_login=False,
                               action=url_for("staff.security"), error=None)
    return render_template("staff/security.html", enrolled=enrolled, admin=staff.is_admin(user))
