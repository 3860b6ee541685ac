"""Admin API for signed-link suppliers: ``/api/v1/suppliers/link`` (bearer token of a network admin).

``POST`` registers a supplier (the same checks as ``broker suppliers
add-link``; the shared secret is named by ``secret_env`` or given as
``secret``, then stored encrypted); ``GET`` lists the link suppliers of the
caller's networks. Neither ever shows a secret.
"""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import select

from ...db.models import Network, Supplier
from ...errors import Forbidden, InvalidInput
from ...services import staff
from .. import kit
from .settings import LinkSettings
from .suppliers import PROTOCOL, describe, register

#: the body's fields besides the settings model's
COMMON = {"slug": str, "name": str, "networks": list, "category": str, "release": (list, str)}


def _admin_networks(db, user) -> set[str]:
    ids = staff.scope_of(user).admin_networks
    if not ids:
        return set()
    return set(db.scalars(select(Network.slug).where(Network.id.in_(ids))))


def _fields() -> dict[str, type | tuple[type, ...]]:
    types = {"string": str, "secret": str, "integer": int, "boolean": bool, "list": list, "choice": str}
    return {**COMMON, **{f["name"]: types[f["type"]] for f in kit.settings_form(LinkSettings)}}


def register_routes(bp: Blueprint) -> None:
    from ...web.api.auth import Unauthorized, api_view
    from ...web.api.bodies import json_body

    @bp.errorhandler(Unauthorized)
    def _unauthorized(exc):
        response = jsonify(error=exc.code, message=exc.message)
        response.status_code = 401
        response.headers["WWW-Authenticate"] = 'Bearer realm="sesame"'
        return response

    @bp.post("/api/v1/suppliers/link")
    @api_view
    def api_add_link(rt, db, user):
        body = json_body(_fields(), required=("slug", "networks", "url_template"))
        networks = body.pop("networks")
        if not networks or not all(isinstance(n, str) for n in networks):
            raise InvalidInput("networks: a list of network slugs is required", code="missing_field")
        mine = _admin_networks(db, user)
        outside = [n for n in networks if n not in mine]
        if outside:
            raise Forbidden(f"you are not an administrator of network {outside[0][:64]}")
        existing = db.scalar(select(Supplier).where(Supplier.slug == body["slug"]))
        if existing is not None and not any(n.slug in mine for n in existing.networks):
            raise Forbidden(f"supplier {body['slug'][:64]} is not offered by a network you administer")
        common = {k: body.pop(k) for k in list(body) if k in COMMON}
        settings = kit.validate_settings(LinkSettings, body)
        row = register(rt, db, common.pop("slug"), settings, networks=networks, name=common.get("name"),
                       release=common.get("release") or None, category=common.get("category", ""),
                       actor=user.email)
        return jsonify(describe(row)), 201

    @bp.get("/api/v1/suppliers/link")
    @api_view
    def api_list_link(rt, db, user):
        mine = _admin_networks(db, user)
        rows = [describe(s) for s in db.scalars(select(Supplier).where(Supplier.protocol == PROTOCOL)
                                                 .order_by(Supplier.slug))
                if any(n.slug in mine for n in s.networks)]
        return jsonify(suppliers=rows)
