"""OpenAPI 3.1 description of the suppliers' administration routes, merged into /api/v1/openapi.json."""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from ...services.suppliers import CATEGORIES, RELEASABLE, RESERVED_SLUGS
from .admin_spec import _SLUG, TAG, _errors, _json, _ref
from .openapi import creation, listing, read_and_change

#: a supplier's slug in a path: never one of the names the routes beside it use
_SUPPLIER = {**_SLUG, "schema": {**_SLUG["schema"], "not": {"enum": list(RESERVED_SLUGS)}}}

_TEXT = {"type": "string"}
_TEXTS = {"type": "array", "items": {"type": "string"}}
_PROTOCOL = {"enum": ["saml", "oidc", "cas", "link"]}
_COMMON = {
    "name": {"type": "string", "maxLength": 200},
    "networks": {"type": "array", "items": {"type": "string"},
                 "description": "The admin's networks offering it (the bundle); other networks' choices are kept."},
    "release": {"type": "array", "items": {"enum": list(RELEASABLE)},
                "description": "Released attributes besides the pairwise identifier, entitlement and affiliation."},
    "category": {"enum": ["", *CATEGORIES]},
    "login_url": {"type": "string", "description": "Where the catalogue sends patrons (https://)."},
    "enabled": {"type": "boolean", "description": "false disables: every patron is refused; nothing is deleted."},
}
_SETTINGS = {
    "type": "object",
    "description": (
        "The protocol's settings. SAML: metadata (the XML document) or metadata_url (https) with metadata_cert "
        "(PEM of the certificate signing it), entity_id, nameid (persistent|transient), sign "
        "(response|assertion|both), encrypt. OIDC: redirect_uris (matched exactly), post_logout_redirect_uris, "
        "public, refresh, backchannel_logout_uri, id_token_alg. CAS: service_patterns (regular expressions "
        "matching whole URLs; one matching any host is refused), single_logout. Signed links: the fields of "
        "GET /providers (url_template, secret or secret_env, message, algorithm, lifetime, target_origins…); "
        "a secret left out keeps its value. An unknown setting is a 400 naming it."),
}

SCHEMAS: dict[str, Any] = {
    "SupplierAdmin": {
        "type": "object", "additionalProperties": False,
        "required": ["slug", "name", "protocol", "enabled", "networks", "release", "category", "login_url", "settings"],
        "properties": {
            "slug": _TEXT, "protocol": {"enum": ["saml", "oidc", "cas", "link", "none"]}, **_COMMON,
            "settings": {"type": "object", "description": (
                "The protocol's settings as stored, never a secret: SAML also gives refreshed_at, next_refresh and "
                "refresh_error (the last failed refresh of URL metadata, the previous metadata staying in use) and "
                "the ACS; OIDC gives client_id, client_secret_set and previous_secret_until (end of a rotation's "
                "grace period).")},
            "client_secret": {"type": "string", "description": "An OIDC client's secret, given once: on creation "
                                                               "and on rotate_secret. Never stored in clear."},
        },
    },
    "SupplierNew": {
        "type": "object", "additionalProperties": False, "required": ["slug", "protocol", "name", "networks"],
        "properties": {"slug": {"type": "string", "maxLength": 64, "not": {"enum": list(RESERVED_SLUGS)}},
                       "protocol": _PROTOCOL, **_COMMON,
                       "settings": _SETTINGS},
    },
    "SupplierPatch": {
        "type": "object", "additionalProperties": False,
        "properties": {**_COMMON, "settings": _SETTINGS,
                       "rotate_secret": {"const": True, "description": "OIDC: a new client secret (in the answer, "
                                                                       "once); the old one stays valid grace_days."},
                       "grace_days": {"type": "integer", "minimum": 0, "maximum": 90, "default": 7}},
    },
    "SupplierPreview": {
        "type": "object", "additionalProperties": False,
        "required": ["supplier", "protocol", "membership", "enabled", "granted", "reason", "identifier", "attributes"],
        "properties": {
            "supplier": _TEXT, "protocol": _TEXT, "membership": {"type": "integer"}, "enabled": {"type": "boolean"},
            "granted": {"type": "boolean", "description": "The access decision for this patron, now."},
            "reason": {"type": ["string", "null"], "description": "Why access would be refused (then nothing is sent)."},
            "identifier": {"oneOf": [{"type": "null"}, {
                "type": "object", "required": ["name", "format", "value"], "additionalProperties": False,
                "properties": {"name": {"type": "string", "description": "NameID, sub, user or uid."},
                               "format": _TEXT,
                               "value": {"type": "string", "description": "Empty for a transient NameID."}}}]},
            "attributes": {"type": "array", "items": {
                "type": "object", "required": ["name", "friendly", "values"], "additionalProperties": False,
                "properties": {"name": {"type": "string", "description": "As sent: SAML attribute URI, OIDC claim, "
                                                                         "CAS attribute or link placeholder."},
                               "friendly": _TEXT, "values": _TEXTS}}},
        },
    },
}

PATHS: dict[str, Any] = {
    "/suppliers": {
        "get": listing("Suppliers offered by the admin's networks, every protocol.", "SupplierAdmin", "Suppliers.",
                       tag=TAG, errors=_errors),
        "post": creation("Register a supplier (SAML, OIDC, CAS or signed link) offered by some of the admin's "
                         "networks; nothing is written on any error.", "SupplierNew", "SupplierAdmin",
                         "The new supplier (an OIDC client's secret is in client_secret, once).", tag=TAG,
                         errors=_errors),
    },
    "/suppliers/{slug}": read_and_change(
        "supplier", "SupplierAdmin", [_SUPPLIER], "SupplierPatch", tag=TAG, errors=_errors,
        read="A supplier, its bundle, state, release policy and protocol settings.",
        change="Change a supplier; {\"enabled\": false} disables it (patrons are refused)."),
    "/suppliers/{slug}/preview": {
        "get": {"summary": "Exactly what the supplier would receive for a membership's patron now (NameID or sub, "
                           "attributes, claims), computed by the issuance code; nothing is sent or counted.",
                "tags": [TAG], "parameters": [_SUPPLIER, {"name": "membership", "in": "query", "required": True,
                                                      "schema": {"type": "integer", "minimum": 1}}],
                "responses": {"200": _json(_ref("SupplierPreview"), "The preview."),
                              **_errors(400, 401, 403, 404)}},
    },
}


def merge_into(doc: dict[str, Any]) -> dict[str, Any]:
    doc.setdefault("paths", {}).update(deepcopy(PATHS))
    doc.setdefault("components", {}).setdefault("schemas", {}).update(deepcopy(SCHEMAS))
    return doc
