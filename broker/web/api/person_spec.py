"""OpenAPI 3.1 description of the linked-cards routes, merged into /api/v1/openapi.json."""

from __future__ import annotations

from typing import Any

from .admin_spec import _BODY, TAG, _errors, _json, _ref
from .openapi import merge

_TEXT = {"type": "string", "maxLength": 64}

SCHEMAS: dict[str, Any] = {
    "CardLink": {
        "type": "object", "required": ["library_a", "card_a", "library_b", "card_b"], "additionalProperties": False,
        "properties": {"library_a": _TEXT, "card_a": _TEXT, "library_b": _TEXT, "card_b": _TEXT},
        "description": "Card B joins card A's person; A's identifiers at suppliers stay the person's.",
    },
    "CardRef": {
        "type": "object", "required": ["library", "card"], "additionalProperties": False,
        "properties": {"library": _TEXT, "card": _TEXT},
    },
    "LinkedCards": {
        "type": "object", "required": ["person", "cards"], "additionalProperties": False,
        "properties": {
            "person": {"type": ["integer", "null"], "description": "null: the card is on its own."},
            "cards": {"type": "array", "items": {
                "type": "object", "required": ["library", "card_last_characters"],
                "properties": {"library": {"type": "string"}, "card_last_characters": {"type": "string"},
                               "membership": {"type": "string"}}}},
        },
    },
}

_CONFLICT = {"409": _json(_ref("Error"), "The cards cannot be linked (same card, already linked, linked to "
                                              "another person, over cards_max_per_person, not registered) "
                                              "or the card is not linked; nothing was written.")}

PATHS: dict[str, Any] = {
    "/patrons/link": {"post": {
        "tags": [TAG], "summary": "Link two library cards of one person (audited)",
        "requestBody": _BODY("CardLink"),
        "responses": {"200": _json(_ref("LinkedCards"), "The person's cards."), **_errors(400, 401, 403, 404),
                      **_CONFLICT},
    }},
    "/patrons/unlink": {"post": {
        "tags": [TAG], "summary": "Take a card out of its person (audited)",
        "requestBody": _BODY("CardRef"),
        "responses": {"200": _json(_ref("LinkedCards"), "The card's cards now (itself alone, or the person's)."),
                      **_errors(400, 401, 403, 404), **_CONFLICT},
    }},
}


def merge_into(doc: dict[str, Any]) -> dict[str, Any]:
    return merge(doc, PATHS, SCHEMAS)
