"""OpenAPI description of ``/api/v1/suppliers/saml``, merged into /api/v1/openapi.json."""

from __future__ import annotations

from typing import Any

from ...web.api.openapi import error_responses, json_content, merge, ref

_errors = error_responses({
    400: "Malformed body, or metadata Sésame refuses to read (saml_invalid); nothing registered.",
    403: "Not an administrator of the networks named, or of the supplier's networks (recorded in the audit "
         "log as denied).",
    404: "No such SAML supplier.",
    409: "The supplier already uses another protocol."})

SCHEMAS: dict[str, Any] = {
    "SamlSupplier": {
        "type": "object", "required": ["slug", "name", "entity_id", "networks", "release"],
        "properties": {"slug": {"type": "string"}, "name": {"type": "string"}, "entity_id": {"type": "string"},
                       "networks": {"type": "string", "description": "Comma-separated network slugs."},
                       "release": {"type": "string", "description": "Comma-separated released attributes."},
                       "nameid": {"type": "string"}, "encrypt": {"type": "boolean"}, "sign": {"type": "string"},
                       "metadata_url": {"type": "string"}, "refreshed_at": {"type": "string"},
                       "refresh_error": {"type": "string"}, "changed": {"type": "boolean"},
                       "encryption_algorithm": {"type": "string", "description": (
                           "XML Encryption URI of the data algorithm used when assertions are encrypted: AES-256-GCM "
                           "unless the supplier's md:EncryptionMethod list only AES-CBC.")},
                       "cbc_only": {"type": "boolean", "description": (
                           "The supplier's metadata list only AES-CBC: its encrypted assertions rely on the "
                           "response signature alone; ask it to support AES-GCM.")}},
    },
}

PATHS: dict[str, Any] = {
    "/suppliers/saml": {
        "get": {"summary": "SAML suppliers offered by the admin's networks.", "tags": ["suppliers"],
                "responses": {"200": json_content({"type": "object", "required": ["suppliers"],
                                                   "properties": {"suppliers": {"type": "array",
                                                                                "items": ref("SamlSupplier")}}},
                                                  "SAML suppliers."), **_errors(401)}},
        "post": {"summary": "Register a SAML supplier from its metadata (network admins).", "tags": ["suppliers"],
                 "requestBody": {"required": True, "content": {"application/json": {"schema": {
                     "type": "object", "required": ["slug"], "additionalProperties": False,
                     "properties": {"slug": {"type": "string"}, "name": {"type": "string"},
                                    "networks": {"type": "array", "items": {"type": "string"}},
                                    "network": {"type": "string"}, "category": {"type": "string"},
                                    "metadata": {"type": "string", "description": "The metadata XML document."},
                                    "metadata_url": {"type": "string", "description": "https URL of the metadata."},
                                    "metadata_cert": {"type": "string"}, "entity_id": {"type": "string"},
                                    "release": {"type": ["array", "string"]}, "encrypt": {"type": "boolean"},
                                    "nameid": {"type": "string"}, "sign": {"type": "string"}}}}}},
                 "responses": {"201": json_content(ref("SamlSupplier"), "The registered supplier."),
                               **_errors(400, 401, 403, 409)}},
    },
    "/suppliers/saml/{slug}/refresh": {"post": {
        "summary": "Fetch a SAML supplier's metadata again from its URL.", "tags": ["suppliers"],
        "parameters": [{"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": json_content(ref("SamlSupplier"),
                                          "The supplier, with changed=true when the metadata changed."),
                      **_errors(400, 401, 403, 404)}}},
}


def merge_into(document: dict[str, Any]) -> dict[str, Any]:
    return merge(document, PATHS, SCHEMAS)
