"""Suppliers in the JSON API: list, register (any protocol), read, change, disable, preview what one receives.

Network admins of a network offering the supplier only; a referent's token, or an admin's outside those
networks, gets 403 recorded as ``denied``. Input errors answer 400 with the field's name in ``field``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import jsonify, request

from ...providers import supplier_admin as admin
from ...services import staff_desk
from ...services.field_errors import FieldError
from ...services.suppliers import list_suppliers
from .admin_routes import admin_bp, admin_only, body
from .auth import api_view

if TYPE_CHECKING:
    from ...runtime import Runtime


def _supplier_for(db, user, slug: str, action: str):
    networks = admin_only(user, action, slug[:64])
    row = admin.in_scope(db, slug, networks)
    if not admin.offered_in(row, networks):
        raise staff_desk.deny(user, action, row.slug)
    return row, networks


def _settings(data: dict) -> dict | None:
    settings = data.get("settings")
    if settings is not None and not isinstance(settings, dict):
        raise FieldError("settings", "wrong_type", "settings: expected an object", name="settings")
    return settings


@admin_bp.get("/suppliers")
@api_view
def suppliers_list(rt: Runtime, db, user):
    networks = admin_only(user, "supplier.list")
    return jsonify(items=[admin.describe(s) for s in list_suppliers(db) if admin.offered_in(s, networks)])


@admin_bp.post("/suppliers")
@api_view
def supplier_add(rt: Runtime, db, user):
    networks = admin_only(user, "supplier.add")
    data = body(("slug", "protocol", "settings", *admin.COMMON), required=("slug", "protocol", "name", "networks"))
    added = admin.add(rt, db, data["protocol"], data["slug"], {k: v for k, v in data.items() if k in admin.COMMON},
                      _settings(data) or {}, network_ids=networks, actor=user.email)
    out = admin.describe(added.supplier)
    if added.client_secret:
        out["client_secret"] = added.client_secret
    return jsonify(out), 201, {"Cache-Control": "no-store"}


@admin_bp.get("/suppliers/<slug>")
@api_view
def supplier_get(rt: Runtime, db, user, slug):
    return jsonify(admin.describe(_supplier_for(db, user, slug, "supplier.view")[0]))


@admin_bp.patch("/suppliers/<slug>")
@api_view
def supplier_patch(rt: Runtime, db, user, slug):
    row, networks = _supplier_for(db, user, slug, "supplier.edit")
    data = body(("settings", "rotate_secret", "grace_days", *admin.COMMON))
    if "rotate_secret" in data and data["rotate_secret"] is not True:
        raise FieldError("rotate_secret", "wrong_type", "rotate_secret: only true is accepted", name="rotate_secret")
    if "grace_days" in data and not data.get("rotate_secret"):
        raise FieldError("grace_days", "bad_grace", "grace_days goes with rotate_secret", max=90)
    common = {k: v for k, v in data.items() if k in admin.COMMON}
    admin.edit(rt, db, row, common, _settings(data), network_ids=networks, actor=user.email)
    out = {}
    if data.get("rotate_secret"):
        out["client_secret"] = admin.rotate_secret(rt, db, row, data.get("grace_days", 7), actor=user.email)
    db.flush()
    return jsonify({**admin.describe(row), **out})


@admin_bp.get("/suppliers/<slug>/preview")
@api_view
def supplier_preview(rt: Runtime, db, user, slug):
    row, networks = _supplier_for(db, user, slug, "supplier.preview")
    raw = request.args.get("membership", "")
    if not raw:
        raise FieldError("membership", "required", "membership: required")
    membership = admin.membership_in(db, raw[:20], networks)
    return jsonify(admin.preview(rt, db, row, membership, actor=user.email))
