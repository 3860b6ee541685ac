"""Admin API for SAML suppliers: ``/api/v1/suppliers/saml`` (bearer token of a network admin).

``POST /api/v1/suppliers/saml`` registers a supplier from its metadata (a
document, or an https URL with the certificate that signs it);
``GET`` lists the SAML suppliers of the caller's networks;
``POST /api/v1/suppliers/saml/<slug>/refresh`` fetches URL metadata again.
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from flask_babel import gettext as _
from sqlalchemy import select

from ...db.models import Network, Supplier
from ...errors import BrokerError, Forbidden, InvalidInput, NotFound
from ...services import staff
from . import registry

_TOKEN = re.compile(r"^Bearer ([A-Za-z0-9_\-]{10,200})$")
MAX_BODY = 1024 * 1024
_FIELDS: dict[str, type | tuple[type, ...]] = {
    "slug": str, "name": str, "networks": list, "network": str, "category": str, "metadata": str,
    "metadata_url": str, "metadata_cert": str, "entity_id": str, "release": (list, str), "encrypt": bool,
    "nameid": str, "sign": str,
}


class Unauthorized(BrokerError):
    """No valid API token: missing, unknown or revoked."""

    code = "unauthorized"
    status = 401


def _user(rt: Any, db: Any):
    match = _TOKEN.match(request.headers.get("Authorization", "").strip())
    if match is None:
        raise Unauthorized(_("Jeton d'API manquant : envoyez l'en-tête Authorization: Bearer <jeton>."))
    user = staff.user_for_token(rt, db, match.group(1))
    if user is None:
        raise Unauthorized(_("Jeton d'API inconnu ou révoqué."))
    return user


def _body() -> dict[str, Any]:
    raw = request.get_data(cache=True)
    if len(raw) > MAX_BODY:
        raise InvalidInput("body too large (1 MiB at most)", code="body_too_large")
    try:
        data = json.loads(raw.decode("utf-8") or "{}")
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise InvalidInput("the body is not valid JSON", code="bad_json") from None
    if not isinstance(data, dict):
        raise InvalidInput("the body must be a JSON object", code="bad_json")
    for name, value in data.items():
        if name not in _FIELDS:
            raise InvalidInput(f"unknown field: {name[:64]}", code="unknown_field")
        if not isinstance(value, _FIELDS[name]) or (_FIELDS[name] is str and isinstance(value, bool)):
            raise InvalidInput(f"field {name} has the wrong type", code="wrong_type")
    return data


def _admin_networks(db: Any, user: Any) -> set[str]:
    ids = staff.scope_of(user).admin_networks
    if not ids:
        return set()
    return set(db.scalars(select(Network.slug).where(Network.id.in_(ids))))


def register(bp: Blueprint) -> None:
    @bp.errorhandler(Unauthorized)
    def _unauthorized(exc: Unauthorized):
        response = jsonify(error=exc.code, message=exc.message)
        response.status_code = 401
        response.headers["WWW-Authenticate"] = 'Bearer realm="sesame"'
        return response

    @bp.post("/api/v1/suppliers/saml")
    def api_add_saml():
        rt = current_app.extensions["broker"]
        with rt.db.session() as db:
            user = _user(rt, db)
            data = _body()
            if not data.get("slug"):
                raise InvalidInput("missing field: slug", code="missing_field")
            networks = list(data.get("networks") or ([data["network"]] if data.get("network") else []))
            if not networks or not all(isinstance(n, str) for n in networks):
                raise InvalidInput("networks: a list of network slugs is required", code="missing_field")
            mine = _admin_networks(db, user)
            outside = [n for n in networks if n not in mine]
            if outside:
                raise Forbidden(f"you are not an administrator of network {outside[0]}")
            if ("metadata" in data) == ("metadata_url" in data):
                raise InvalidInput("give exactly one of metadata (the XML document) and metadata_url", code="missing_field")
            url = data.get("metadata_url")
            if url is not None and not url.startswith("https://"):
                raise InvalidInput("metadata_url must be an https URL", code="invalid_input")
            release = data.get("release")
            supplier = registry.add_saml(
                rt, db, data["slug"], metadata=url,
                metadata_xml=data["metadata"].encode("utf-8") if "metadata" in data else None,
                networks=networks, name=data.get("name"), release=release,
                encrypt=bool(data.get("encrypt")), nameid=data.get("nameid", "persistent"),
                metadata_cert=data.get("metadata_cert"), entity_id=data.get("entity_id"),
                sign=data.get("sign", "response"), category=data.get("category", ""), actor=user.email)
            row = registry.describe(supplier)
        return jsonify(row), 201

    @bp.get("/api/v1/suppliers/saml")
    def api_list_saml():
        rt = current_app.extensions["broker"]
        with rt.db.session() as db:
            user = _user(rt, db)
            mine = _admin_networks(db, user)
            rows = [registry.describe(s) for s in db.scalars(select(Supplier).where(Supplier.protocol == "saml")
                                                             .order_by(Supplier.slug))
                    if any(n.slug in mine for n in s.networks)]
        return jsonify(suppliers=rows)

    @bp.post("/api/v1/suppliers/saml/<slug>/refresh")
    def api_refresh_saml(slug: str):
        rt = current_app.extensions["broker"]
        with rt.db.session() as db:
            user = _user(rt, db)
            supplier = db.scalar(select(Supplier).where(Supplier.slug == slug, Supplier.protocol == "saml"))
            if supplier is None:
                raise NotFound(f"unknown SAML supplier '{slug}'")
            if not any(n.slug in _admin_networks(db, user) for n in supplier.networks):
                raise Forbidden(f"you are not an administrator of a network offering {slug}")
            changed = registry.refresh(rt, db, supplier, actor=user.email)
            row = {**registry.describe(supplier), "changed": changed}
        return jsonify(row)
