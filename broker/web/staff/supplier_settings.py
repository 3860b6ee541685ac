"""Network admins' suppliers: add one (SAML, OpenID Connect, CAS, signed link), edit its settings and bundle,
disable or enable it, choose what it receives and preview exactly that for a patron.

The SUSHI part of a supplier's page is ``supplier_usage``; this module adds the rest of the page
(``admin_context``) and the forms behind it. Every change goes through ``providers.supplier_admin``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ...db.models import Network
from ...errors import InvalidInput
from ...providers import supplier_admin as admin
from ...services.counter import accounts
from ...services.field_errors import FieldError
from ...services.suppliers import CATEGORIES, RELEASABLE
from . import bp
from .admin_guard import admin_networks, admin_view, field_message, networks_of, switch_enabled

if TYPE_CHECKING:
    from ...runtime import Runtime

PROTOCOL_LABELS = {"saml": _l("SAML 2.0"), "oidc": _l("OpenID Connect"), "cas": _l("CAS"),
                   "link": _l("Lien signé"), "none": _l("Aucun (page de connexion du fournisseur)")}
RELEASE_LABELS = {"library": _l("Code de la bibliothèque"), "network": _l("Réseau"),
                  "birth_year": _l("Année de naissance"), "age_bracket": _l("Tranche d'âge"),
                  "display_name": _l("Nom et prénom"), "email": _l("Adresse e-mail")}
CATEGORY_LABELS = {"": _l("— aucune —"), "cinema": _l("Cinéma"), "presse": _l("Presse"),
                   "formation": _l("Formation"), "musique": _l("Musique"), "livre": _l("Livre"),
                   "jeu-video": _l("Jeu vidéo"), "jeunesse": _l("Jeunesse")}
BOOL_SETTINGS = {"encrypt", "public", "refresh", "single_logout", "allow_legacy", "allow_http", "store_secret"}
LIST_SETTINGS = {"redirect_uris", "post_logout_redirect_uris", "service_patterns", "target_origins"}
MAX_UPLOAD = 1024 * 1024


def protocol_label(protocol: str) -> str:
    label = PROTOCOL_LABELS.get(protocol or "none")
    return str(label) if label is not None else protocol


def _link_form() -> list[dict]:
    from ...providers.kit import settings_form
    from ...providers.link.settings import LinkSettings

    fields = [f for f in settings_form(LinkSettings) if f["name"] not in ("store_secret", "allow_http")]
    for f in fields:
        f["options"] = [(c["value"], c["value"] + (" (legacy)" if c["legacy"] else "")) for c in f["choices"]]
    return fields


def shown_settings(protocol: str, values: dict, view: dict) -> tuple[dict, dict]:
    """Each setting as the form shows it: what was posted (after an error), else what is stored."""
    from collections import defaultdict

    shown: dict = defaultdict(str)
    checked: dict = defaultdict(bool)
    posted = any(k.startswith("settings.") for k in values)
    for name in (*admin.settings_names(protocol), "metadata_url"):
        key = f"settings.{name}"
        stored = view.get(name)
        if key in values:
            shown[name] = values[key]
        elif isinstance(stored, (list, tuple)):
            shown[name] = "\n".join(stored)
        elif stored is not None and not isinstance(stored, bool):
            shown[name] = str(stored)
        checked[name] = values.get(key) == "1" if posted else bool(stored)
    return shown, checked


def _settings_from_form(protocol: str, *, creating: bool) -> dict:
    """The protocol's settings as the form posted them (``settings.NAME``); absent fields are left out."""
    out: dict = {}
    names = admin.settings_names(protocol)
    for name in names:
        key = f"settings.{name}"
        if name in BOOL_SETTINGS:
            if protocol == "oidc" and name == "public" and not creating:
                continue
            out[name] = request.form.get(key) == "1"
        elif key in request.form:
            value = request.form.get(key, "")
            out[name] = value.splitlines() if name in LIST_SETTINGS else value.strip()
    if protocol == "link":
        if "lifetime" in out:
            raw = str(out["lifetime"])
            if not raw.isdigit():
                raise FieldError("settings.lifetime", "bad_lifetime", "lifetime: a whole number of seconds")
            out["lifetime"] = int(raw)
        out = {k: v for k, v in out.items() if v != "" or k == "secret_env"}
    if protocol == "saml":
        upload = request.files.get("settings.metadata_file")
        if upload is not None and upload.filename:
            data = upload.stream.read(MAX_UPLOAD + 1)
            try:
                if len(data) > MAX_UPLOAD:
                    raise UnicodeDecodeError("utf-8", b"", 0, 1, "too large")
                out["metadata"] = data.decode("utf-8")
            except UnicodeDecodeError:
                raise FieldError("settings.metadata", "bad_metadata", "metadata: not a UTF-8 XML document of 1 MiB "
                                 "at most", detail="not a UTF-8 XML document of 1 MiB at most") from None
        for empty in ("metadata_url", "metadata_cert", "entity_id"):
            if out.get(empty) == "":
                out.pop(empty)
    return out


def _common_from_form() -> dict:
    data: dict = {k: request.form.get(k, "").strip() for k in ("name", "category", "login_url") if k in request.form}
    if "networks-shown" in request.form:
        data["networks"] = request.form.getlist("networks")
    return data


def _values_from_form(protocol: str) -> dict:
    values: dict = {k: request.form.get(k, "") for k in request.form if k != "csrf_token"}
    values["networks"] = request.form.getlist("networks")
    values["protocol"] = protocol
    for name in LIST_SETTINGS:
        if f"settings.{name}" in request.form:
            values[f"settings.{name}"] = request.form.get(f"settings.{name}", "")
    return values


def _errors(exc: FieldError) -> dict[str, str]:
    return {exc.field: field_message(exc)}


def _form_context(db, user, protocol: str) -> dict:
    networks = networks_of(db, user)
    return {"networks": networks, "network_options": [(n.slug, n.name) for n in networks],
            "release_options": [(r, str(RELEASE_LABELS[r])) for r in RELEASABLE], "release_labels": RELEASE_LABELS,
            "categories": [(c, str(CATEGORY_LABELS.get(c, c))) for c in ("",) + CATEGORIES],
            "protocol_labels": PROTOCOL_LABELS, "protocol": protocol, "link_fields": _link_form()}


# -- list and add ----------------------------------------------------------------------------------
@bp.route("/suppliers/new", methods=["GET", "POST"])
@admin_view("supplier.add")
def supplier_new(rt: Runtime, db, user):
    protocol = request.values.get("protocol", "saml")
    if protocol not in admin.PROTOCOLS:
        protocol = "saml"
    mine = admin_networks(user)
    values: dict = {"networks": [n.slug for n in networks_of(db, user)], "release": ["library", "network"],
                    "protocol": protocol}
    errors: dict[str, str] = {}
    cas_test = None
    if request.method == "POST":
        values = _values_from_form(protocol)
        values["release"] = request.form.getlist("release")
        try:
            settings = _settings_from_form(protocol, creating=True)
            if protocol == "cas" and request.form.get("action") == "test":
                cas_test = _cas_test(settings.get("service_patterns") or [], request.form.get("test_url", ""))
            else:
                data = {**_common_from_form(), "release": request.form.getlist("release")}
                added = admin.add(rt, db, protocol, request.form.get("slug", "").strip(), data, settings,
                                  network_ids=mine, actor=user.email)
        except FieldError as exc:
            db.rollback()
            errors = _errors(exc)
        else:
            if cas_test is None:
                if added.client_secret:
                    return _secret_page(added.supplier, added.client_secret, created=True)
                flash(_("Fournisseur ajouté : %(name)s.", name=added.supplier.name), "success")
                return redirect(url_for("staff.supplier", slug=added.supplier.slug), 303)
    shown, checked = shown_settings(protocol, values, {})
    return render_template("staff/supplier_new.html", values=values, errors=errors, cas_test=cas_test,
                           shown=shown, checked=checked, **_form_context(db, user, protocol)), (400 if errors else 200)


def _cas_test(patterns: list[str], url: str) -> dict:
    url = url.strip()
    if not url or len(url) > 2048:
        raise FieldError("test_url", "required", "test_url: required")
    index = admin.try_cas_pattern([p for p in patterns if p.strip()], url)
    return {"url": url, "index": index, "pattern": patterns[index] if index is not None else ""}


def _secret_page(supplier, secret: str, *, created: bool):
    response = render_template("staff/supplier_secret.html", supplier=supplier, secret=secret, created=created)
    return response, 201 if created else 200, {"Cache-Control": "no-store"}


# -- the supplier's page ---------------------------------------------------------------------------
def admin_context(rt: Runtime, db, user, supplier) -> dict:
    """What the supplier's page shows besides SUSHI: settings, bundle, state, release, preview."""
    preview = None
    preview_error = ""
    asked = request.args.get("membership", "").strip() if request.method == "GET" else ""
    if asked:
        try:
            membership = admin.membership_in(db, asked, admin_networks(user))
            preview = admin.preview(rt, db, supplier, membership, actor=user.email)
        except FieldError as exc:
            preview_error = field_message(exc)
    view = admin.settings_view(supplier)
    posted = {k: request.form.get(k, "") for k in request.form} if request.method == "POST" else {}
    shown, checked = shown_settings(supplier.protocol, posted, view)
    return {"view": view, "shown": shown, "checked": checked, "protocol_label": protocol_label(supplier.protocol),
            "preview": preview, "preview_error": preview_error, "asked_membership": asked[:20],
            "mine": admin_networks(user), **_form_context(db, user, supplier.protocol)}


def _page(rt: Runtime, db, user, slug: str, action: str, *, errors=None, values=None, form="", cas_test=None, status=400):
    from .supplier_usage import _render

    supplier = accounts.supplier_for_admin(db, user, slug[:64], action)
    return _render(db, supplier, errors=errors or {}, form=form, status=status,
                   admin_values=values or {}, cas_test=cas_test)


@bp.post("/suppliers/<slug>/settings")
@admin_view("supplier.edit")
def supplier_settings(rt: Runtime, db, user, slug):
    supplier = accounts.supplier_for_admin(db, user, slug[:64], "supplier.edit")
    protocol = supplier.protocol
    values = _values_from_form(protocol)
    try:
        settings = _settings_from_form(protocol, creating=False) if protocol in admin.PROTOCOLS else {}
        if protocol == "cas" and request.form.get("action") == "test":
            test = _cas_test(settings.get("service_patterns") or [], request.form.get("test_url", ""))
            return _page(rt, db, user, slug, "supplier.edit", values=values, form="settings", cas_test=test,
                         status=200)
        changed = admin.edit(rt, db, supplier, _common_from_form(), settings, network_ids=admin_networks(user),
                             actor=user.email)
    except FieldError as exc:
        db.rollback()
        return _page(rt, db, user, slug, "supplier.edit", errors=_errors(exc), values=values, form="settings")
    flash(_("Fournisseur mis à jour.") if changed else _("Aucun changement."), "success")
    if not admin.offered_in(supplier, admin_networks(user)):
        return redirect(url_for("staff.suppliers"), 303)
    return redirect(url_for("staff.supplier", slug=supplier.slug) + "#settings", 303)


@bp.post("/suppliers/<slug>/enabled")
@admin_view("supplier.edit")
def supplier_enabled(rt: Runtime, db, user, slug):
    supplier = accounts.supplier_for_admin(db, user, slug[:64], "supplier.edit")
    return switch_enabled(
        lambda enabled: admin.set_enabled(rt, db, supplier, enabled, actor=user.email),
        url_for("staff.supplier", slug=supplier.slug),
        enabled=_("Fournisseur réactivé : les usagers y ont de nouveau accès."),
        disabled=_("Fournisseur désactivé : les usagers voient une page qui l'explique. Rien n'est supprimé."))


@bp.post("/suppliers/<slug>/release")
@admin_view("supplier.edit")
def supplier_release(rt: Runtime, db, user, slug):
    supplier = accounts.supplier_for_admin(db, user, slug[:64], "supplier.edit")
    try:
        changed = admin.edit(rt, db, supplier, {"release": request.form.getlist("release")}, None,
                             network_ids=admin_networks(user), actor=user.email)
    except FieldError as exc:
        db.rollback()
        return _page(rt, db, user, slug, "supplier.edit", errors=_errors(exc), form="release")
    flash(_("Attributs transmis enregistrés.") if changed else _("Aucun changement."), "success")
    return redirect(url_for("staff.supplier", slug=supplier.slug) + "#release", 303)


@bp.post("/suppliers/<slug>/rotate")
@admin_view("supplier.edit")
def supplier_rotate(rt: Runtime, db, user, slug):
    supplier = accounts.supplier_for_admin(db, user, slug[:64], "supplier.edit")
    try:
        secret = admin.rotate_secret(rt, db, supplier, request.form.get("grace_days", ""), actor=user.email)
    except FieldError as exc:
        db.rollback()
        return _page(rt, db, user, slug, "supplier.edit", errors=_errors(exc), form="rotate",
                     values={"grace_days": request.form.get("grace_days", "")[:10]})
    return _secret_page(supplier, secret, created=False)


@bp.post("/suppliers/<slug>/refresh")
@admin_view("supplier.edit")
def supplier_refresh(rt: Runtime, db, user, slug):
    supplier = accounts.supplier_for_admin(db, user, slug[:64], "supplier.edit")
    try:
        changed = admin.refresh_metadata(rt, db, supplier, actor=user.email)
    except (FieldError, InvalidInput) as exc:
        db.rollback()
        if not isinstance(exc, FieldError):
            exc = FieldError("settings.metadata_url", "bad_metadata", exc.message, detail=exc.message[:300])
        return _page(rt, db, user, slug, "supplier.edit", errors=_errors(exc), form="settings")
    error = (supplier.config or {}).get("refresh_error")
    if error:
        flash(_("Les métadonnées n'ont pas pu être actualisées ; les précédentes restent en service."), "error")
    else:
        flash(_("Métadonnées actualisées.") if changed else _("Métadonnées déjà à jour."), "success")
    return redirect(url_for("staff.supplier", slug=supplier.slug) + "#metadata", 303)


def network_names(db) -> dict[int, str]:
    return {n.id: n.name for n in db.scalars(select(Network))}
