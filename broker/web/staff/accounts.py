"""Staff accounts for network admins (invite, deactivate, reactivate, resets) and the invitation link's page."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ...db.models import Library, Partner, StaffUser
from ...errors import InvalidInput
from ...services import staff_accounts as accounts_service
from ...services import staff_desk
from ...services.field_errors import FieldError
from . import bp
from .admin_guard import admin_networks, admin_view, field_message, networks_of
from .guard import runtime

if TYPE_CHECKING:
    from ...runtime import Runtime

ACTIONS = ("deactivate", "reactivate", "reset-password", "reset-totp")


@bp.app_template_global()
def totp_qr(uri: str) -> Markup:
    """The otpauth:// URI as a QR code drawn by the server (inline SVG: no image request, no third party)."""
    import segno

    svg = segno.make(uri, error="m").svg_inline(scale=5, dark="#000", light="#fff", title=None)
    return Markup(svg)


def _libraries(db, networks) -> list[Library]:
    return list(db.scalars(select(Library).join(Partner).where(Partner.network_id.in_(networks))
                           .options(selectinload(Library.partner)).order_by(Library.name)))


def _render(db, user, *, errors=None, values=None, status=200):
    networks = admin_networks(user)
    rows = accounts_service.accounts_in(db, networks)
    now = runtime().clock.utcnow()
    pending = {u.id: accounts_service.pending_invite(db, u, now) for u in rows if u.password_hash is None}
    return render_template("staff/accounts.html", rows=rows, pending=pending, errors=errors or {},
                           values=values or {"role": "referent"}, libraries=_libraries(db, networks),
                           networks=networks_of(db, user), me=user,
                           manageable={u.id for u in rows if accounts_service.within(u, networks)},
                           role_scope=accounts_service.role_scope), status


@bp.get("/accounts")
@admin_view("staff.list")
def accounts(rt: Runtime, db, user):
    return _render(db, user)


@bp.post("/accounts")
@admin_view("staff.invite")
def account_invite(rt: Runtime, db, user):
    values = {k: request.form.get(k, "").strip() for k in ("email", "name", "role", "scope")}
    scope = values["scope"]
    if values["role"] == "admin" and scope.startswith("library:") or values["role"] == "referent" and \
            scope.startswith("network:"):
        scope = "\x00"  # a library for an admin, a network for a referent: refused by the service
    scope = scope.split(":", 1)[-1]
    try:
        invitation = accounts_service.invite(rt, db, values["email"], values["role"], scope, actor=user.email,
                                             name=values["name"], network_ids=admin_networks(user))
    except FieldError as exc:
        db.rollback()
        return _render(db, user, errors={exc.field: field_message(exc)}, values=values, status=400)
    flash(_("Invitation envoyée à %(email)s : le lien pour choisir un mot de passe est valable 72 heures.",
            email=invitation.user.email), "success")
    return redirect(url_for("staff.accounts"), 303)


@bp.post("/accounts/<int:account_id>/<action>")
@admin_view("staff.change")
def account_action(rt: Runtime, db, user, account_id, action):
    if action not in ACTIONS:
        abort(404)
    target = db.scalar(select(StaffUser).where(StaffUser.id == account_id).options(
        selectinload(StaffUser.roles))) if 0 < account_id < 2**31 else None
    if target is None:
        abort(404)
    if not accounts_service.within(target, admin_networks(user)):
        raise staff_desk.deny(user, f"staff.{action}", target.email)
    try:
        if action in ("deactivate", "reactivate"):
            accounts_service.set_active(rt, db, target, action == "reactivate", actor=user.email)
            message = _("Compte désactivé : ses sessions et ses jetons d'API ne donnent plus accès.") \
                if action == "deactivate" else _("Compte réactivé.")
        elif action == "reset-password":
            accounts_service.reset_password(rt, db, target, actor=user.email)
            message = _("Mot de passe réinitialisé : un lien pour en choisir un nouveau est envoyé à %(email)s.",
                        email=target.email)
        else:
            accounts_service.reset_totp(rt, db, target, actor=user.email)
            message = _("Double authentification réinitialisée : elle sera configurée à la prochaine connexion.")
    except FieldError as exc:
        db.rollback()
        flash(field_message(exc), "error")
        return redirect(url_for("staff.accounts"), 303)
    flash(message, "success")
    return redirect(url_for("staff.accounts"), 303)


@bp.after_request
def invitation_referrer(response):
    # the link is a credential: never sent on to another site as a Referer
    if request.endpoint == "staff.invitation":
        response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.route("/invite/<token>", methods=["GET", "POST"])
def invitation(token):
    """Choose a password from an invitation or reset link (no login: the link is the proof)."""
    rt = runtime()
    with rt.db.session() as db:
        row = accounts_service.invite_for(rt, db, token)
        if row is None:
            return render_template("staff/invite.html", invalid=True, errors={}), 404
        email = db.get(StaffUser, row.user_id).email
        errors = {}
        if request.method == "POST":
            try:
                accounts_service.accept(rt, db, token, request.form.get("password", ""),
                                        request.form.get("confirm", ""))
            except FieldError as exc:
                errors = {exc.field: field_message(exc)}
            except InvalidInput:
                return render_template("staff/invite.html", invalid=True, errors={}), 404
            else:
                flash(_("Votre mot de passe est enregistré. Connectez-vous."), "success")
                return redirect(url_for("staff.login"), 303)
        return render_template("staff/invite.html", invalid=False, email=email, errors=errors,
                               expires=row.expires_at), (400 if errors else 200)
