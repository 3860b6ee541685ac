"""Admin API for signed-link suppliers: ``/api/v1/suppliers/link`` (bearer token of a network admin).

``POST`` registers a supplier (the same checks as ``broker suppliers
add-link``; the shared secret is named by ``secret_env`` or given as
``secret``, then stored encrypted); ``GET`` lists the link suppliers of the
caller's networks. Neither ever shows a secret. The routes are mounted under
the API blueprint (``ProviderSpec.api_routes``): the API's token guard, body
parser and error shape.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Blueprint, jsonify
from sqlalchemy import select

from ...db.models import Supplier
from ...services import staff_desk
from .. import kit
from .settings import LinkSettings
from .suppliers import PROTOCOL, describe, register

if TYPE_CHECKING:
    from ...runtime import Runtime

#: the body's fields besides the settings model's
COMMON: dict[str, type | tuple[type, ...]] = {"slug": str, "name": str, "networks": list, "category": str,
                                              "release": (list, str)}


def _fields() -> dict[str, type | tuple[type, ...]]:
    types: dict[str, type] = {"string": str, "secret": str, "integer": int, "boolean": bool, "list": list,
                              "choice": str}
    return {**COMMON, **{f["name"]: types[f["type"]] for f in kit.settings_form(LinkSettings)}}


def routes(bp: Blueprint) -> None:
    """Add the signed-link supplier routes to ``bp`` (mounted at /api/v1 by ``ProviderSpec.api_routes``)."""
    from ...web.api.auth import api_view
    from ...web.api.bodies import json_body
    from ...web.api.networks import (
        admin_network_slugs,
        networks_field,
        require_admin_of,
    )

    @bp.post("/suppliers/link")
    @api_view
    def api_add_link(rt: Runtime, db, user):
        body = json_body(_fields(), required=("slug", "networks", "url_template"))
        networks = networks_field(body.pop("networks"))
        mine = admin_network_slugs(db, user)
        require_admin_of(user, "supplier.add", networks, mine)
        existing = db.scalar(select(Supplier).where(Supplier.slug == body["slug"]))
        if existing is not None and not any(n.slug in mine for n in existing.networks):
            raise staff_desk.deny(user, "supplier.add", body["slug"][:64])
        common = {k: body.pop(k) for k in list(body) if k in COMMON}
        settings = kit.validate_settings(LinkSettings, body)
        row = register(rt, db, common.pop("slug"), settings, networks=networks, name=common.get("name"),
                       release=common.get("release") or None, category=common.get("category", ""),
                       actor=user.email)
        return jsonify(describe(row)), 201

    @bp.get("/suppliers/link")
    @api_view
    def api_list_link(rt: Runtime, db, user):
        mine = admin_network_slugs(db, user)
        rows = [describe(s) for s in db.scalars(select(Supplier).where(Supplier.protocol == PROTOCOL)
                                                 .order_by(Supplier.slug))
                if any(n.slug in mine for n in s.networks)]
        return jsonify(suppliers=rows)
