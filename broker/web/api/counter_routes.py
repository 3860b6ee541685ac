"""Suppliers' SUSHI credentials and consortium members in the JSON API (network admins of the supplier's networks)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import jsonify

from ...services.counter import accounts, members
from .admin_routes import admin_bp, body, text_field
from .auth import api_view

if TYPE_CHECKING:
    from ...runtime import Runtime


@admin_bp.get("/suppliers/<slug>/sushi")
@api_view
def sushi_view(rt: Runtime, db, user, slug):
    supplier = accounts.supplier_for_admin(db, user, slug, "supplier.sushi.view")
    return jsonify(accounts.describe(db, supplier, accounts.account_of(db, supplier)))


@admin_bp.put("/suppliers/<slug>/sushi")
@api_view
def sushi_set(rt: Runtime, db, user, slug):
    supplier = accounts.supplier_for_admin(db, user, slug, "supplier.sushi")
    data = body(("url", "customer_id", "requestor_id", "api_key", "release", "platform"),
                required=("url", "customer_id"))
    accounts.set_account(rt, db, supplier, url=text_field(data, "url"), customer_id=text_field(data, "customer_id"),
                         requestor_id=text_field(data, "requestor_id") or "", api_key=text_field(data, "api_key"),
                         release=data.get("release", "5.1"), platform=text_field(data, "platform") or "",
                         actor=user.email)
    return jsonify(accounts.describe(db, supplier, accounts.account_of(db, supplier)))


@admin_bp.put("/suppliers/<slug>/sushi/members/<customer_id>")
@api_view
def sushi_member(rt: Runtime, db, user, slug, customer_id):
    supplier = accounts.supplier_for_admin(db, user, slug, "supplier.member")
    data = body(("library",), required=("library",))
    library = data["library"]
    if library is not None:
        library = text_field(data, "library")
    member = members.confirm(rt, db, supplier, customer_id, library, actor=user.email)
    return jsonify(members.member_json(db, member))
