"""Network admins' libraries: list, add, edit (connector settings from the connector's model), disable or
enable, move to another partner, test a card with the library's SIGB."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ...db.models import Partner
from ...errors import NotFound
from ...services import audit, library_admin, staff_desk
from ...services.card_check import check_card
from ...services.field_errors import FieldError
from . import bp
from .admin_guard import admin_networks, admin_view, field_message, switch_enabled

if TYPE_CHECKING:
    from ...runtime import Runtime

CHECK_LABELS = {
    "ok": _l("Carte valide : le SIGB reconnaît ce lecteur."),
    "credentials": _l("Identifiants refusés : le SIGB ne reconnaît pas ce mot de passe."),
    "unknown": _l("Carte inconnue du SIGB."),
    "unavailable": _l("SIGB injoignable : il ne répond pas (adresse, port, pare-feu ?)."),
    "protocol": _l("Erreur de protocole : le SIGB a répondu quelque chose d'inattendu."),
    "card_invalid": _l("Carte reconnue mais pas utilisable (expirée, perdue ou bloquée)."),
}
REGISTRATION_LABELS = {"referent": _l("Validation par le référent"), "auto": _l("Inscription automatique")}
FIELDS = ("name", "commune", "contact_email", "contact_phone", "address", "website", "registration", "partner")


class _ShowSettings(Exception):
    """The add form asks for another connector's settings fields."""


def _library(db, user, code: str, action: str):
    try:
        lib = library_admin.library_in(db, code)
    except NotFound:
        raise NotFound(_("Bibliothèque inconnue."), code="unknown_library") from None
    if lib.partner.network_id not in admin_networks(user):
        raise staff_desk.deny(user, action, lib.code)
    return lib


def _partners(db, network_ids) -> list[Partner]:
    return list(db.scalars(select(Partner).where(Partner.network_id.in_(network_ids)).order_by(Partner.name)))


def _render(rt: Runtime, db, user, lib, *, errors=None, values=None, check=None, status=200):
    partners = [p for p in _partners(db, admin_networks(user)) if p.network_id == lib.partner.network_id]
    return render_template(
        "staff/library_admin.html", lib=lib, errors=errors or {}, values=values or {}, partners=partners,
        settings=library_admin.settings_fields(rt, lib.connector), secrets=library_admin.secrets_set(rt, lib),
        check=check, check_labels=CHECK_LABELS, registration_labels=REGISTRATION_LABELS), status


@bp.get("/libraries")
@admin_view("library.list")
def libraries(rt: Runtime, db, user):
    rows = library_admin.libraries_of(db, admin_networks(user))
    return render_template("staff/libraries.html", rows=rows)


@bp.route("/libraries/new", methods=["GET", "POST"])
@admin_view("library.add")
def library_new(rt: Runtime, db, user):
    partners = _partners(db, admin_networks(user))
    connectors = sorted(rt.sigb.specs)
    values = {"registration": "referent", "connector": "local" if "local" in connectors else connectors[0]}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = {k: request.form.get(k, "").strip() for k in
                  ("code", "name", "commune", "partner", "connector", "registration", "contact_email")}
        try:
            if request.form.get("show") == "1":  # another connector chosen: show its settings, save nothing
                raise _ShowSettings
            if values["partner"] not in {p.slug for p in partners}:
                raise FieldError("partner", "bad_partner", "partner: not one of yours")
            if values["connector"] not in rt.sigb.specs:
                raise FieldError("connector", "bad_connector", "unknown connector")
            settings = library_admin.settings_from_form(rt, values["connector"], request.form)
            lib = library_admin.add_library(rt, db, {**values, "settings": settings}, actor=user.email)
        except _ShowSettings:
            pass
        except FieldError as exc:
            db.rollback()
            errors = {exc.field: field_message(exc)}
        else:
            flash(_("Bibliothèque ajoutée : %(name)s.", name=lib.name), "success")
            return redirect(url_for("staff.library_admin_page", code=lib.code), 303)
    fields = library_admin.settings_fields(rt, values["connector"]) if values.get("connector") in rt.sigb.specs else []
    return render_template("staff/library_new.html", values=values, errors=errors, partners=partners,
                           connectors=connectors, settings=fields, registration_labels=REGISTRATION_LABELS), \
        (400 if errors else 200)


@bp.get("/libraries/<code>/edit")
@admin_view("library.view")
def library_admin_page(rt: Runtime, db, user, code):
    return _render(rt, db, user, _library(db, user, code, "library.view"))


@bp.post("/libraries/<code>/edit")
@admin_view("library.edit")
def library_edit(rt: Runtime, db, user, code):
    lib = _library(db, user, code, "library.edit")
    values = {k: request.form.get(k, "").strip() for k in FIELDS}
    changes = {k: v for k, v in values.items() if k in request.form}
    changes["settings"] = library_admin.settings_from_form(rt, lib.connector, request.form)
    try:
        changed = library_admin.edit_library(rt, db, lib, changes, actor=user.email,
                                             network_ids=admin_networks(user))
    except FieldError as exc:
        db.rollback()
        return _render(rt, db, user, _library(db, user, code, "library.edit"),
                       errors={exc.field: field_message(exc)}, values=values, status=400)
    flash(_("Bibliothèque mise à jour.") if changed else _("Aucun changement."), "success")
    return redirect(url_for("staff.library_admin_page", code=lib.code), 303)


@bp.post("/libraries/<code>/enabled")
@admin_view("library.edit")
def library_enabled(rt: Runtime, db, user, code):
    lib = _library(db, user, code, "library.edit")
    return switch_enabled(
        lambda enabled: library_admin.edit_library(rt, db, lib, {"enabled": enabled}, actor=user.email),
        url_for("staff.library_admin_page", code=lib.code),
        enabled=_("Bibliothèque réactivée : ses usagers ont de nouveau accès."),
        disabled=_("Bibliothèque désactivée : ses usagers voient une page qui l'explique. Rien n'est supprimé."))


@bp.post("/libraries/<code>/check")
@admin_view("library.check")
def library_check(rt: Runtime, db, user, code):
    lib = _library(db, user, code, "library.check")
    card = request.form.get("card", "").strip()
    password = request.form.get("password", "")
    if not card or len(card) > 64:
        return _render(rt, db, user, lib, errors={"card": field_message(FieldError("card", "required", ""))},
                       status=400)
    result = check_card(rt, lib, card, password or None, raw=False)
    audit.record(rt, db, user.email, "library.check", lib.code, ok=result["ok"], reason=result.get("reason"))
    return _render(rt, db, user, lib, check=result)
