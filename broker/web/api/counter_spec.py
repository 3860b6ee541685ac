"""OpenAPI 3.1 description of the SUSHI routes, merged into /api/v1/openapi.json."""

from __future__ import annotations

from typing import Any

from .admin_spec import _BODY, _SLUG, TAG, _errors, _json, _ref
from .openapi import merge, read_and_change

_TEXT = {"type": "string"}
_NULLABLE = {"type": ["string", "null"]}

SCHEMAS: dict[str, Any] = {
    "SushiMember": {
        "type": "object", "required": ["customer_id", "name", "suggested_library", "library", "confirmed"],
        "additionalProperties": False,
        "properties": {"customer_id": _TEXT, "name": _TEXT,
                       "suggested_library": {**_NULLABLE,
                                             "description": "Library code suggested by name or identifier."},
                       "library": {**_NULLABLE, "description": "Library code confirmed by an admin."},
                       "confirmed": {"type": "boolean"}},
    },
    "SushiAccount": {
        "type": "object", "required": ["supplier", "configured", "members"], "additionalProperties": False,
        "properties": {
            "supplier": _TEXT, "configured": {"type": "boolean"},
            "members": {"type": "array", "items": _ref("SushiMember")},
            "url": _TEXT, "customer_id": _TEXT, "requestor_id": _TEXT,
            "api_key_set": {"type": "boolean", "description": "Whether an API key is stored (it is never given back)."},
            "release": {"enum": ["5", "5.1"]}, "platform": _TEXT,
            "last_status": {"type": "string", "description": "Outcome of the last harvest: ok, pending, backoff, "
                                                             "credentials, fault, rejected (empty: none yet)."},
            "last_error": _TEXT, "last_harvest_at": {"type": ["string", "null"], "format": "date-time"},
            "reports": {"type": "array", "items": _ref("SushiReportState"),
                        "description": "The COUNTER reports PR, DR, TR and IR: offered by the server, months "
                                       "stored, last harvest."},
        },
    },
    "SushiReportState": {
        "type": "object", "additionalProperties": False,
        "required": ["report", "offered", "months", "last_status", "last_error", "last_harvest_at"],
        "properties": {
            "report": {"enum": ["PR", "DR", "TR", "IR"]},
            "offered": {"type": ["boolean", "null"], "description": "Listed at /reports (null: not asked yet)."},
            "months": {"type": "integer", "minimum": 0, "description": "Months stored."},
            "last_status": {"type": "string", "description": "ok, pending, rejected, unsupported, or the "
                                                             "supplier's backoff, credentials, fault."},
            "last_error": _TEXT, "last_harvest_at": {"type": ["string", "null"], "format": "date-time"},
        },
    },
    "SushiAccountSet": {
        "type": "object", "required": ["url", "customer_id"], "additionalProperties": False,
        "properties": {"url": {"type": "string", "format": "uri", "description": "The SUSHI server's base URL."},
                       "customer_id": _TEXT, "requestor_id": _TEXT,
                       "api_key": {"type": "string",
                                   "description": "Stored encrypted; omitted: unchanged; \"\": removed."},
                       "release": {"enum": ["5", "5.1"]}, "platform": _TEXT},
    },
    "SushiMemberSet": {
        "type": "object", "required": ["library"], "additionalProperties": False,
        "properties": {"library": {"type": ["string", "null"],
                                   "description": "Library code; \"\" confirms the suggested one; null unmaps."}},
    },
}

_CUSTOMER = {"name": "customer_id", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 200}}

PATHS: dict[str, Any] = {
    "/suppliers/{slug}/sushi": read_and_change(
        "SUSHI account", "SushiAccount", [_SLUG], "SushiAccountSet", tag=TAG, errors=_errors, method="put",
        read="A supplier's SUSHI credentials (without the key), last harvest and members.",
        change="Set a supplier's SUSHI credentials (the API key is encrypted at rest)."),
    "/suppliers/{slug}/sushi/members/{customer_id}": {
        "put": {"summary": "Map a consortium member of the supplier to a library (confirm the suggestion).",
                "tags": [TAG], "parameters": [_SLUG, _CUSTOMER], "requestBody": _BODY("SushiMemberSet"),
                "responses": {"200": _json(_ref("SushiMember"), "The member and its library."),
                              **_errors(400, 401, 403, 404)}},
    },
}


def merge_into(doc: dict[str, Any]) -> dict[str, Any]:
    return merge(doc, PATHS, SCHEMAS)
