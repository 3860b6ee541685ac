"""``GET /api/v1/providers``: the protocols offered to suppliers, each with the settings form its model generates."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import jsonify

from . import bp
from .auth import api_view
from .openapi import error_responses, json_content, merge, ref

if TYPE_CHECKING:
    from ...runtime import Runtime

_ref, _json = ref, json_content
_errors = error_responses({})


def provider_json(spec) -> dict[str, Any]:
    from ...providers.kit import settings_form

    return {"name": spec.name, "description": spec.description or "",
            "fields": settings_form(spec.settings_model) if spec.settings_model is not None else []}


@bp.get("/providers")
@api_view
def providers(rt: Runtime, db, user):
    return jsonify(providers=[provider_json(rt.providers[name]) for name in sorted(rt.providers)])


SCHEMAS: dict[str, Any] = {
    "ProviderField": {
        "type": "object", "additionalProperties": False,
        "required": ["name", "label", "type", "required", "default", "choices", "help"],
        "properties": {
            "name": {"type": "string"}, "label": {"type": "string"},
            "type": {"enum": ["string", "secret", "integer", "boolean", "list", "choice"]},
            "required": {"type": "boolean"}, "default": {},
            "choices": {"type": "array", "items": {
                "type": "object", "required": ["value", "legacy"], "additionalProperties": False,
                "properties": {"value": {"type": "string"}, "legacy": {"type": "boolean"}}}},
            "help": {"type": "string"},
        },
    },
    "Provider": {
        "type": "object", "additionalProperties": False, "required": ["name", "description", "fields"],
        "properties": {"name": {"type": "string"}, "description": {"type": "string"},
                       "fields": {"type": "array", "items": _ref("ProviderField"),
                                  "description": "The supplier settings form, generated from the provider's "
                                                 "settings model (empty when it has none)."}},
    },
}

PATHS: dict[str, Any] = {
    "/providers": {
        "get": {"summary": "The protocols this instance offers to suppliers, with their settings forms.",
                "tags": ["suppliers"],
                "responses": {"200": _json({"type": "object", "required": ["providers"], "additionalProperties": False,
                                            "properties": {"providers": {"type": "array",
                                                                         "items": _ref("Provider")}}},
                                           "Providers."), **_errors(401)}},
    },
}


def merge_into(document: dict[str, Any]) -> dict[str, Any]:
    return merge(document, PATHS, SCHEMAS)
