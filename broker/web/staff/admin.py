"""The audit log (network admins) and each staff user's API tokens."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ...clock import as_utc
from ...errors import InvalidInput
from ...services import staff, staff_desk
from ..errors import message_of
from . import audit_labels, bp
from .guard import staff_view

if TYPE_CHECKING:
    from ...runtime import Runtime

AUDIT_PAGE = 100
#: the lifetimes offered when creating or renewing a token, in days
DURATIONS = (30, 90, 180, 365)


@bp.get("/audit")
@staff_view
def audit_log(rt: Runtime, db, user):
    before = request.args.get("before", "")
    if before and (not before.isdigit() or len(before) > 12):
        raise InvalidInput(_("Paramètre « before » invalide."), code="bad_before")
    events = staff_desk.audit_page(db, user, limit=AUDIT_PAGE, before=int(before) if before else None)
    older = events[-1].id if len(events) == AUDIT_PAGE else None
    return render_template("staff/audit.html", events=events, older=older, action_label=audit_labels.action_label,
                           outcome_label=audit_labels.outcome_label, details=audit_labels.details,
                           actor_label=audit_labels.actor_label)


@bp.route("/tokens", methods=["GET", "POST"])
@staff_view
def tokens(rt: Runtime, db, user):
    """Create a token (shown once) or list them."""
    created = None
    error = None
    days_error = None
    if request.method == "POST":
        name = request.form.get("name", "").strip()
        if not name or len(name) > 100:
            error = _("Donnez au jeton un nom de 1 à 100 caractères (par exemple : « script du SIGB »).")
        else:
            try:
                days = staff.token_days(request.form.get("days"))
            except InvalidInput:
                days = None
                days_error = _("Choisissez une durée de 1 à %(max)d jours.", max=staff.MAX_TOKEN_DAYS)
            if days is not None:
                try:
                    created = staff.create_api_token(rt, db, user, name, actor=user.email, days=days)
                except InvalidInput as exc:
                    error = message_of(exc)
    rows = staff_desk.tokens_of(db, user)
    return render_template("staff/tokens.html", rows=rows, created=created, error=error, days_error=days_error,
                           now=rt.clock.utcnow(), durations=DURATIONS, default_days=staff.TOKEN_DAYS,
                           as_utc=as_utc), (400 if error or days_error else 200)


@bp.post("/tokens/<int:token_id>/renew")
@staff_view
def renew_token(rt: Runtime, db, user, token_id):
    row = staff_desk.renew_token(rt, db, user, token_id, request.form.get("days"))
    flash(_("Le jeton est renouvelé jusqu'au %(date)s.", date=as_utc(row.expires_at).strftime("%d/%m/%Y")),
          "success")
    return redirect(url_for("staff.tokens"), 303)


@bp.post("/tokens/<int:token_id>/revoke")
@staff_view
def revoke_token(rt: Runtime, db, user, token_id):
    staff_desk.revoke_token(rt, db, user, token_id)
    flash(_("Le jeton est révoqué : il ne donne plus accès à l'API."), "success")
    return redirect(url_for("staff.tokens"), 303)
