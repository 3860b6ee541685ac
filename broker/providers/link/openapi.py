"""OpenAPI description of ``/api/v1/suppliers/link``, merged into /api/v1/openapi.json."""

from __future__ import annotations

from typing import Any

from ...web.api.openapi import error_responses, json_content, merge, ref

_errors = error_responses({
    400: "Malformed body, or settings refused (unknown placeholder, no {sig}, not https, secret "
         "variable not set, legacy algorithm without allow_legacy…); nothing registered.",
    403: "Not an administrator of the networks named, or of the supplier's networks (recorded in the audit "
         "log as denied).",
    404: "Unknown network.",
    409: "The supplier already uses another protocol."})
_ref, _json = ref, json_content

_STRINGS = {"type": "array", "items": {"type": "string"}}

SCHEMAS: dict[str, Any] = {
    "LinkSupplier": {
        "type": "object", "additionalProperties": False,
        "required": ["slug", "name", "protocol", "networks", "release", "url_template", "message", "algorithm",
                     "lifetime", "target_origins", "secret"],
        "properties": {
            "slug": {"type": "string"}, "name": {"type": "string"}, "protocol": {"const": "link"},
            "networks": _STRINGS, "release": _STRINGS, "url_template": {"type": "string"},
            "message": {"type": "string"},
            "algorithm": {"type": "string", "description": "hmac-sha256, hmac-sha1, or a legacy one, labelled "
                                                           "'(legacy)'."},
            "lifetime": {"type": "integer"}, "target_origins": _STRINGS,
            "secret": {"type": "string", "description": "Where the secret comes from; never the secret."},
        },
    },
    "LinkRegistration": {
        "type": "object", "additionalProperties": False, "required": ["slug", "networks", "url_template"],
        "properties": {
            "slug": {"type": "string"}, "name": {"type": "string"}, "networks": _STRINGS,
            "category": {"type": "string"}, "release": {"type": ["array", "string"]},
            "url_template": {"type": "string", "examples": ["https://vod.example.org/sso?u={uid}&t={ts}&s={sig}"]},
            "secret_env": {"type": "string", "description": "Environment variable of the server holding the "
                                                            "shared secret."},
            "secret": {"type": "string", "minLength": 16, "description": "The shared secret, stored encrypted "
                                                                         "(instead of secret_env)."},
            "store_secret": {"type": "boolean"},
            "message": {"type": "string", "default": "{uid}{ts}"},
            "algorithm": {"enum": ["hmac-sha256", "hmac-sha1", "md5-concat", "sha1-concat"],
                          "description": "md5-concat and sha1-concat are legacy: they need allow_legacy."},
            "lifetime": {"type": "integer", "minimum": 10, "maximum": 86400},
            "target_origins": _STRINGS, "allow_legacy": {"type": "boolean"}, "allow_http": {"type": "boolean"},
        },
    },
}

PATHS: dict[str, Any] = {
    "/suppliers/link": {
        "get": {"summary": "Signed-link suppliers offered by the admin's networks.", "tags": ["suppliers"],
                "responses": {"200": _json({"type": "object", "required": ["suppliers"], "additionalProperties": False,
                                            "properties": {"suppliers": {"type": "array",
                                                                         "items": _ref("LinkSupplier")}}},
                                           "Link suppliers."), **_errors(401)}},
        "post": {"summary": "Register a signed-link supplier (network admins).", "tags": ["suppliers"],
                 "requestBody": {"required": True,
                                 "content": {"application/json": {"schema": _ref("LinkRegistration")}}},
                 "responses": {"201": _json(_ref("LinkSupplier"), "The registered supplier."),
                               **_errors(400, 401, 403, 404, 409)}},
    },
}


def merge_into(document: dict[str, Any]) -> dict[str, Any]:
    return merge(document, PATHS, SCHEMAS)
