"""OpenAPI 3.1 description of the network administration routes, merged into /api/v1/openapi.json."""

from __future__ import annotations

from typing import Any

from .openapi import (
    creation,
    error_responses,
    json_content,
    json_request,
    listing,
    merge,
    read_and_change,
    ref,
)

TAG = "administration"


#: the pieces of ``.openapi`` under the names the administration descriptions use
_ref, _json = ref, json_content
_errors = error_responses({
    400: "Invalid input: ``field`` names the field at fault (unknown fields included); nothing was written.",
    403: "Not a network admin, or outside their networks (recorded in the audit log as denied).",
    404: "No such partner or account."}, schema="Error")


_DATE = {"type": "string", "format": "date"}
_SLUG = {"name": "slug", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 64}}
_CODE = {"name": "code", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 64}}
_LIBRARY_FIELDS = {
    "name": {"type": "string", "maxLength": 200}, "commune": {"type": "string", "maxLength": 200},
    "registration": {"enum": ["referent", "auto"]}, "contact_email": {"type": "string"},
    "contact_phone": {"type": "string", "maxLength": 40}, "address": {"type": "string", "maxLength": 300},
    "website": {"type": "string", "maxLength": 300},
    "partner": {"type": "string", "description": "The partner's slug (a partner of the same network)."},
    "settings": {"type": "object", "description": "Connector settings, checked by the connector's settings model; "
                                                  "a secret left empty keeps its value."},
}
_BODY = json_request

SCHEMAS: dict[str, Any] = {
    "LibraryAdmin": {
        "type": "object", "additionalProperties": False,
        "required": ["code", "name", "partner", "network", "enabled", "connector", "settings", "secrets"],
        "properties": {"code": {"type": "string"}, "network": {"type": "string"}, "enabled": {"type": "boolean"},
                       "connector": {"type": "string"}, **_LIBRARY_FIELDS,
                       "secrets": {"type": "object", "additionalProperties": {"type": "boolean"},
                                   "description": "Each secret setting: set or not (values are never shown)."}},
    },
    "LibraryNew": {
        "type": "object", "additionalProperties": False, "required": ["code", "name", "partner", "connector"],
        "properties": {"code": {"type": "string", "maxLength": 64}, "connector": {"type": "string"},
                       **{k: v for k, v in _LIBRARY_FIELDS.items() if k in
                          ("name", "partner", "settings", "registration", "commune", "contact_email")}},
    },
    "LibraryPatch": {
        "type": "object", "additionalProperties": False,
        "properties": {**_LIBRARY_FIELDS, "enabled": {"type": "boolean"}},
    },
    "CardCheck": {
        "type": "object", "additionalProperties": False, "required": ["card"],
        "properties": {"card": {"type": "string", "maxLength": 64},
                       "password": {"type": "string", "description": "With it, an authentication; else a lookup."}},
    },
    "CardCheckResult": {
        "type": "object", "required": ["library", "card", "ok", "elapsed_ms"],
        "properties": {"library": {"type": "string"}, "card": {"type": "string", "description": "Masked."},
                       "ok": {"type": "boolean"},
                       "reason": {"enum": ["credentials", "unknown", "unavailable", "protocol", "card_invalid"]},
                       "detail": {"type": "string"}, "patron": {"type": "object"},
                       "elapsed_ms": {"type": "number"}},
    },
    "AdminError": {**ref("Error"), "description": "The API's Error (``field`` names the field at fault); "
                                                  "this name is kept for clients that refer to it."},
    "AgreementChange": {
        "type": "object", "required": ["kind", "at", "actor", "before", "after", "note"], "additionalProperties": False,
        "properties": {"kind": {"enum": ["add", "amend", "end"]}, "at": {"type": "string", "format": "date-time"},
                       "actor": {"type": "string"}, "before": {"type": "object"}, "after": {"type": "object"},
                       "note": {"type": "string"}},
    },
    "Agreement": {
        "type": "object", "required": ["id", "start", "end", "rate"], "additionalProperties": False,
        "properties": {"id": {"type": "integer"}, "start": _DATE, "end": _DATE,
                       "rate": {"type": "string", "description": "Euros per inhabitant per year, e.g. \"0.15\"."},
                       "history": {"type": "array", "items": _ref("AgreementChange")}},
    },
    "Partner": {
        "type": "object", "required": ["slug", "name", "kind", "population", "network", "state", "agreements"],
        "additionalProperties": False,
        "properties": {
            "slug": {"type": "string"}, "name": {"type": "string"}, "kind": {"enum": ["commune", "epci", "epic"]},
            "population": {"type": "integer", "minimum": 0}, "network": {"type": "string"},
            "state": {"enum": ["in_force", "ending_soon", "ended", "future", "none"]},
            "agreements": {"type": "array", "items": _ref("Agreement")},
            "populations": {"type": "object", "additionalProperties": {"type": "integer"},
                            "description": "Legal population by year, when recorded."},
        },
    },
    "PartnerNew": {
        "type": "object", "required": ["slug", "name", "kind", "population", "network"], "additionalProperties": False,
        "properties": {
            "slug": {"type": "string"}, "name": {"type": "string"}, "kind": {"enum": ["commune", "epci", "epic"]},
            "population": {"type": "integer", "minimum": 0}, "network": {"type": "string"},
            "agreement": {"type": "object", "required": ["start", "end"], "additionalProperties": False,
                          "properties": {"start": _DATE, "end": _DATE}},
            "rate": {"type": ["string", "number"], "description": "Default 0.15."},
        },
    },
    "PartnerPatch": {
        "type": "object", "additionalProperties": False,
        "properties": {"name": {"type": "string"}, "kind": {"enum": ["commune", "epci", "epic"]},
                       "population": {"type": "integer", "minimum": 0},
                       "population_year": {"type": "integer", "minimum": 1900, "maximum": 2200,
                                           "description": "The year of that population (default: this year)."}},
    },
    "AgreementNew": {
        "type": "object", "required": ["start", "end"], "additionalProperties": False,
        "properties": {"start": _DATE, "end": _DATE, "rate": {"type": ["string", "number"]},
                       "note": {"type": "string", "maxLength": 500}},
    },
    "FeeLine": {
        "type": "object", "required": ["partner", "name", "kind", "network", "population", "rate", "days",
                                       "year_days", "fee"], "additionalProperties": False,
        "properties": {"partner": {"type": "string"}, "name": {"type": "string"}, "kind": {"type": "string"},
                       "network": {"type": "string"}, "population": {"type": "integer"},
                       "rate": {"type": "string"}, "days": {"type": "integer", "description": "Days covered."},
                       "year_days": {"type": "integer"},
                       "fee": {"type": "string", "pattern": r"^\d+\.\d{2}$", "examples": ["967.80"]}},
    },
    "Fees": {
        "type": "object", "required": ["year", "items", "total"], "additionalProperties": False,
        "properties": {"year": {"type": "integer"}, "items": {"type": "array", "items": _ref("FeeLine")},
                       "total": {"type": "string", "pattern": r"^\d+\.\d{2}$"}},
    },
}

SCHEMAS.update({
    "StaffAccount": {
        "type": "object", "required": ["email", "name", "active", "password_set", "totp", "roles"],
        "additionalProperties": False,
        "properties": {
            "email": {"type": "string"}, "name": {"type": "string"}, "active": {"type": "boolean"},
            "password_set": {"type": "boolean", "description": "False while an invitation waits."},
            "totp": {"type": "boolean", "description": "Whether TOTP is set up (the secret is never given)."},
            "roles": {"type": "array", "items": {"type": "object", "required": ["role", "scope"],
                                                 "additionalProperties": False,
                                                 "properties": {"role": {"enum": ["referent", "admin"]},
                                                                "scope": {"type": "string"}}}},
            "invitation_expires": {"type": "string", "format": "date-time"},
        },
    },
    "StaffInvite": {
        "type": "object", "required": ["email", "role", "scope"], "additionalProperties": False,
        "properties": {"email": {"type": "string"}, "role": {"enum": ["referent", "admin"]},
                       "scope": {"type": "string", "description": "Library code (referent) or network slug (admin)."},
                       "name": {"type": "string"}},
    },
    "StaffInvited": {
        "type": "object", "required": ["email", "role", "scope", "invitation_expires"], "additionalProperties": False,
        "properties": {"email": {"type": "string"}, "role": {"type": "string"}, "scope": {"type": "string"},
                       "invitation_expires": {"type": "string", "format": "date-time",
                                              "description": "The e-mailed link to choose a password works once, "
                                                             "until then. No password is ever returned."}},
    },
    "StaffPatch": {
        "type": "object", "additionalProperties": False,
        "properties": {"active": {"type": "boolean", "description": "false deactivates: sessions and API tokens "
                                                                    "stop at once (not the network's last admin)."},
                       "name": {"type": "string"},
                       "reset_password": {"const": True, "description": "E-mail a new single-use link."},
                       "reset_totp": {"const": True, "description": "Enrol again at the next login."}},
    },
})

_EMAIL = {"name": "email", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 254}}

PATHS: dict[str, Any] = {
    "/staff": {
        "get": listing("Staff accounts of the admin's networks.", "StaffAccount", "Accounts.", tag=TAG,
                       errors=_errors),
        "post": creation("Invite someone: the account and a single-use link (72 h) e-mailed to choose a password.",
                         "StaffInvite", "StaffInvited", "Invitation sent.", tag=TAG, errors=_errors),
    },
    "/staff/{email}": {
        "patch": {"summary": "Deactivate, reactivate, rename, or reset an account's password or TOTP.", "tags": [TAG],
                  "parameters": [_EMAIL], "requestBody": _BODY("StaffPatch"),
                  "responses": {"200": _json(_ref("StaffAccount"), "The account after the change."),
                                **_errors(400, 401, 403, 404)}},
    },
    "/partners": {
        "get": listing("Partners of the admin's networks.", "Partner", "Partners.", tag=TAG, errors=_errors),
        "post": creation("Add a partner, with its agreement if given.", "PartnerNew", "Partner", "The new partner.",
                         tag=TAG, errors=_errors, statuses=(400, 401, 403, 404)),
    },
    "/partners/{slug}": read_and_change(
        "partner", "Partner", [_SLUG], "PartnerPatch", tag=TAG, errors=_errors,
        read="A partner with its agreements and their history.",
        change="Change a partner's name, kind or legal population (for a year)."),
    "/partners/{slug}/agreements": {
        "post": creation("Record a new agreement (it may not overlap another of the partner).", "AgreementNew",
                         "Partner", "The partner with the new agreement.", tag=TAG, errors=_errors,
                         parameters=[_SLUG], statuses=(400, 401, 403, 404)),
    },
    "/libraries": {
        "post": creation("Add a library with its connector (settings checked by the connector's model).",
                         "LibraryNew", "LibraryAdmin", "The new library.", tag=TAG, errors=_errors),
    },
    "/libraries/{code}": read_and_change(
        "library", "LibraryAdmin", [_CODE], "LibraryPatch", tag=TAG, errors=_errors,
        read="A library, its connector settings and which secrets are set.",
        change="Change a library; {\"enabled\": false} disables it (its patrons are refused)."),
    "/libraries/{code}/check": {
        "post": {"summary": "Ask the library's SIGB about a card, as `broker connectors check` does; nothing is "
                            "stored.", "tags": [TAG], "parameters": [_CODE], "requestBody": _BODY("CardCheck"),
                 "responses": {"200": _json(_ref("CardCheckResult"), "The SIGB's answer."),
                               **_errors(400, 401, 403, 404)}},
    },
    "/fees": {
        "get": {"summary": "Each partner's fee for a year, pro rata of the days an agreement covers.", "tags": [TAG],
                "parameters": [{"name": "year", "in": "query", "required": True,
                                "schema": {"type": "integer", "minimum": 1900, "maximum": 2200}}],
                "responses": {"200": _json(_ref("Fees"), "The year's fees and their total."),
                              **_errors(400, 401, 403)}},
    },
}


def merge_into(doc: dict[str, Any]) -> dict[str, Any]:
    """Add the administration routes; /libraries keeps the staff API's GET beside the POST."""
    return merge(doc, PATHS, SCHEMAS, tag=TAG, tag_description="The network's partners, agreements, fees and "
                                                              "staff accounts (network admins only).")
