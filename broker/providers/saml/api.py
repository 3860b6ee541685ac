"""Admin API for SAML suppliers: ``/api/v1/suppliers/saml`` (bearer token of a network admin).

``POST /api/v1/suppliers/saml`` registers a supplier from its metadata (a
document, or an https URL with the certificate that signs it);
``GET`` lists the SAML suppliers of the caller's networks;
``POST /api/v1/suppliers/saml/<slug>/refresh`` fetches URL metadata again.
The routes are mounted under the API blueprint (``ProviderSpec.api_routes``):
the API's token guard, body parser and error shape; they are described by
``openapi.py`` beside this module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Blueprint, jsonify
from flask_babel import gettext as _
from sqlalchemy import select

from ...db.models import Supplier
from ...errors import NotFound
from ...services import staff_desk
from ...services.field_errors import FieldError
from ...web.api.auth import api_view
from ...web.api.bodies import json_body
from ...web.api.networks import admin_network_slugs, networks_field, require_admin_of
from . import registry

if TYPE_CHECKING:
    from ...runtime import Runtime

FIELDS: dict[str, type | tuple[type, ...]] = {
    "slug": str, "name": str, "networks": list, "network": str, "category": str, "metadata": str,
    "metadata_url": str, "metadata_cert": str, "entity_id": str, "release": (list, str), "encrypt": bool,
    "nameid": str, "sign": str,
}


def routes(bp: Blueprint) -> None:
    """Add the SAML supplier routes to ``bp`` (mounted at /api/v1)."""

    @bp.post("/suppliers/saml")
    @api_view
    def api_add_saml(rt: Runtime, db: Any, user: Any):
        data = json_body(FIELDS, required=("slug",))
        if not data["slug"]:
            raise FieldError("slug", "missing_field", _("Champ obligatoire manquant : %(name)s.", name="slug"),
                             name="slug")
        networks = networks_field(data.get("networks") or ([data["network"]] if data.get("network") else []))
        require_admin_of(user, "supplier.add", networks, admin_network_slugs(db, user))
        if ("metadata" in data) == ("metadata_url" in data):
            raise FieldError("metadata", "missing_field",
                             _("Donnez exactement l'un de metadata (le document XML) et metadata_url."))
        url = data.get("metadata_url")
        if url is not None and not url.startswith("https://"):
            raise FieldError("metadata_url", "invalid_input", _("metadata_url doit être une URL https."))
        supplier = registry.add_saml(
            rt, db, data["slug"], metadata=url,
            metadata_xml=data["metadata"].encode("utf-8") if "metadata" in data else None,
            networks=networks, name=data.get("name"), release=data.get("release"),
            encrypt=bool(data.get("encrypt")), nameid=data.get("nameid", "persistent"),
            metadata_cert=data.get("metadata_cert"), entity_id=data.get("entity_id"),
            sign=data.get("sign", "response"), category=data.get("category", ""), actor=user.email)
        return jsonify(registry.describe(supplier)), 201

    @bp.get("/suppliers/saml")
    @api_view
    def api_list_saml(rt: Runtime, db: Any, user: Any):
        mine = admin_network_slugs(db, user)
        rows = [registry.describe(s) for s in db.scalars(select(Supplier).where(Supplier.protocol == "saml")
                                                         .order_by(Supplier.slug))
                if any(n.slug in mine for n in s.networks)]
        return jsonify(suppliers=rows)

    @bp.post("/suppliers/saml/<slug>/refresh")
    @api_view
    def api_refresh_saml(rt: Runtime, db: Any, user: Any, slug: str):
        supplier = db.scalar(select(Supplier).where(Supplier.slug == slug, Supplier.protocol == "saml"))
        if supplier is None:
            raise NotFound(_("Fournisseur SAML inconnu : %(slug)s", slug=slug[:64]))
        if not any(n.slug in admin_network_slugs(db, user) for n in supplier.networks):
            raise staff_desk.deny(user, "supplier.refresh", supplier.slug)
        changed = registry.refresh(rt, db, supplier, actor=user.email)
        return jsonify({**registry.describe(supplier), "changed": changed})
