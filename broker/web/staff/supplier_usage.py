"""Network admins' suppliers: SUSHI credentials, last harvest, consortium members, and COUNTER files to import."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ...db.counter_models import CounterReport
from ...errors import InvalidInput
from ...services.counter import accounts, members
from ...services.counter.files import MAX_FILE, import_file
from ...services.field_errors import FieldError
from ...services.suppliers import list_suppliers
from . import bp
from .admin_guard import admin_networks, admin_view, field_message

if TYPE_CHECKING:
    from ...runtime import Runtime

STATUS_LABELS = {"": _l("Jamais moissonné"), "ok": _l("À jour"), "pending": _l("En attente du fournisseur"),
                 "backoff": _l("Serveur occupé : nouvel essai plus tard"),
                 "credentials": _l("Identifiants refusés : corrigez-les"), "fault": _l("Erreur du serveur SUSHI"),
                 "rejected": _l("Rapport refusé (non conforme à COUNTER)"),
                 "mapping": _l("Membres à associer"),
                 "unsupported": _l("Non fourni par le serveur (exception 3000)")}
#: the COUNTER reports harvested, in French
REPORT_NAMES = {"PR": _l("Rapport plateforme (PR)"), "DR": _l("Rapport bases de données (DR)"),
                "TR": _l("Rapport titres (TR)"), "IR": _l("Rapport documents (IR)")}
SUSHI_MESSAGES = {"bad_url": _l("Adresse invalide : l'URL de base du serveur SUSHI, en http:// ou https://."),
                  "bad_release": _l("Choisissez la version 5 ou 5.1."),
                  "bad_value": _l("200 caractères imprimables au plus."),
                  "unknown_library": _l("Choisissez une bibliothèque d'un réseau qui propose ce fournisseur."),
                  "no_suggestion": _l("Aucune bibliothèque n'est suggérée : choisissez-en une.")}


def _message(exc: FieldError) -> str:
    template = SUSHI_MESSAGES.get(exc.code)
    return str(template) if template is not None else field_message(exc)


@bp.get("/suppliers")
@admin_view("supplier.list")
def suppliers(rt: Runtime, db, user):
    networks = admin_networks(user)
    rows = [s for s in list_suppliers(db) if any(n.id in networks for n in s.networks)]
    states = {s.id: accounts.account_of(db, s) for s in rows}
    from .supplier_settings import protocol_label

    return render_template("staff/suppliers.html", rows=rows, states=states, status_label=_status_label,
                           protocol_label=protocol_label, mine=networks)


def _status_label(status: str | None) -> str:
    return str(STATUS_LABELS.get(status or "", status))


def _render(db, supplier, *, errors=None, values=None, form="", status=200, admin_values=None, cas_test=None):
    account = accounts.account_of(db, supplier)
    described = accounts.describe(db, supplier, account)
    months = list(db.execute(select(CounterReport.month, CounterReport.customer_id, CounterReport.source,
                                    CounterReport.status, CounterReport.release, CounterReport.report_id)
                             .where(CounterReport.supplier_id == supplier.id)
                             .order_by(CounterReport.month.desc(), CounterReport.report_id,
                                       CounterReport.customer_id).limit(60)))
    libraries = members.libraries_of(db, supplier)
    reports = [{**r, "name": str(REPORT_NAMES[r["report"]])} for r in described.get("reports", [])]
    if values is None:
        values = {k: described.get(k) or "" for k in ("url", "customer_id", "requestor_id", "platform")}
        values["release"] = described.get("release") or "5.1"
    return render_template("staff/supplier.html", supplier=supplier, account=described, values=values,
                           errors=errors or {}, form=form, months=months, libraries=libraries, reports=reports,
                           library_options=[(lib.code, lib.name) for lib in libraries],
                           status_label=_status_label, max_mib=MAX_FILE // (1024 * 1024),
                           admin_values=admin_values or {}, cas_test=cas_test, **_admin_context(db, supplier)), status


def _admin_context(db, supplier) -> dict:
    from flask import current_app, g

    from .supplier_settings import admin_context

    return admin_context(current_app.extensions["broker"], db, g.staff_user, supplier)


@bp.get("/suppliers/<slug>")
@admin_view("supplier.sushi.view")
def supplier(rt: Runtime, db, user, slug):
    return _render(db, accounts.supplier_for_admin(db, user, slug[:64], "supplier.sushi.view"))


@bp.post("/suppliers/<slug>/sushi")
@admin_view("supplier.sushi")
def supplier_sushi(rt: Runtime, db, user, slug):
    found = accounts.supplier_for_admin(db, user, slug[:64], "supplier.sushi")
    values = {k: request.form.get(k, "").strip() for k in ("url", "customer_id", "requestor_id", "platform",
                                                           "release")}
    key = request.form.get("api_key", "")
    try:
        accounts.set_account(rt, db, found, url=values["url"], customer_id=values["customer_id"],
                             requestor_id=values["requestor_id"], api_key=key if key else None,
                             release=values["release"], platform=values["platform"], actor=user.email)
    except FieldError as exc:
        db.rollback()
        return _render(db, accounts.supplier_for_admin(db, user, slug[:64], "supplier.sushi"),
                       errors={exc.field: _message(exc)}, values=values, form="sushi", status=400)
    flash(_("Identifiants SUSHI enregistrés."), "success")
    return redirect(url_for("staff.supplier", slug=found.slug), 303)


@bp.post("/suppliers/<slug>/members")
@admin_view("supplier.member")
def supplier_members(rt: Runtime, db, user, slug):
    found = accounts.supplier_for_admin(db, user, slug[:64], "supplier.member")
    customer = request.form.get("customer_id", "")[:200]
    library = request.form.get("library", "")
    try:
        members.confirm(rt, db, found, customer, None if library == "-" else library, actor=user.email)
    except FieldError as exc:
        db.rollback()
        return _render(db, accounts.supplier_for_admin(db, user, slug[:64], "supplier.member"),
                       errors={f"member-{customer}": _message(exc)}, form="members", status=400)
    flash(_("Membre %(customer)s : association enregistrée.", customer=customer), "success")
    return redirect(url_for("staff.supplier", slug=found.slug) + "#members", 303)


@bp.post("/suppliers/<slug>/import")
@admin_view("supplier.counter_import")
def supplier_import(rt: Runtime, db, user, slug):
    found = accounts.supplier_for_admin(db, user, slug[:64], "supplier.counter_import")
    upload = request.files.get("file")
    library = request.form.get("library", "") or None
    if upload is None or not upload.filename:
        return _render(db, found, errors={"file": _("Choisissez un fichier.")}, form="import", status=400)
    try:
        imported = import_file(rt, db, found, upload.stream.read(MAX_FILE + 1), library=library, actor=user.email)
    except InvalidInput as exc:
        db.rollback()
        return _render(db, accounts.supplier_for_admin(db, user, slug[:64], "supplier.counter_import"),
                       errors={"file": _("Fichier refusé, rien n'a été importé : %(reason)s", reason=exc.message)},
                       form="import", status=400)
    flash(_("Fichier importé : %(count)s mois.", count=len({row["month"] for row in imported})), "success")
    return redirect(url_for("staff.supplier", slug=found.slug), 303)
