"""The OpenAPI 3.1 description of /api/v1, written by hand and checked against the routes by the tests.

This module describes the staff routes (``routes.py``) and assembles the whole document from the
other parts' descriptions (``FRAGMENTS``), all written with the pieces of ``.openapi``.
"""

from __future__ import annotations

import importlib
import re
from copy import deepcopy
from typing import Any

from ...domain.memberships import MembershipState
from .openapi import error_responses, json_content, list_of, merge, ref

STATES = [s.value for s in MembershipState]


_ref, _json = ref, json_content
_errors = error_responses({
    400: "Malformed request (body, field types, lengths, parameters).",
    403: "Outside the token owner's scope (staff operations record the attempt in the audit log).",
    404: "No such library or membership.",
    409: "The membership is not in a state that allows this change.",
    503: "The library's SIGB does not answer."})


_NULLABLE_STR = {"type": ["string", "null"]}
_CODE = {"name": "code", "in": "path", "required": True, "description": "Library code (ISIL), e.g. FR-140476101.",
         "schema": {"type": "string", "maxLength": 64}}
_ID = {"name": "membership_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object", "required": ["error", "message"], "additionalProperties": False,
        "properties": {"error": {"type": "string", "description": "Machine code, e.g. out_of_scope."},
                       "message": {"type": "string", "description": "What went wrong, in the caller's language."},
                       "field": {"type": "string", "description": "The body or query field at fault, when one is "
                                                                  "(an unknown, missing or invalid field)."}},
    },
    "Counts": {
        "type": "object", "required": STATES, "additionalProperties": False,
        "properties": {s: {"type": "integer", "minimum": 0} for s in STATES},
    },
    "Library": {
        "type": "object", "required": ["code", "name", "commune", "network", "registration"],
        "additionalProperties": False,
        "properties": {"code": {"type": "string"}, "name": {"type": "string"}, "commune": {"type": "string"},
                       "network": {"type": "string"}, "registration": {"enum": ["referent", "auto"]},
                       "counts": _ref("Counts")},
    },
    "HistoryEntry": {
        "type": "object", "required": ["at", "actor", "transition", "from_state", "to_state", "reason"],
        "additionalProperties": False,
        "properties": {"at": {"type": "string", "format": "date-time"}, "actor": {"type": "string"},
                       "transition": {"type": "string"}, "from_state": _NULLABLE_STR,
                       "to_state": {"enum": STATES}, "reason": {"type": "string"}},
    },
    "Membership": {
        "type": "object",
        "required": ["id", "library", "state", "card_hint", "name", "email", "birth_year", "card_expires",
                     "created_at", "updated_at"],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "integer"}, "library": {"type": "string"}, "state": {"enum": STATES},
            "card_hint": {"type": "string", "description": "Last four characters of the card; never the number."},
            "name": _NULLABLE_STR, "email": _NULLABLE_STR, "birth_year": {"type": ["integer", "null"]},
            "card_expires": {"type": ["string", "null"], "format": "date"},
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"},
            "history": {"type": "array", "items": _ref("HistoryEntry")},
        },
    },
    "MembershipPage": {
        "type": "object", "required": ["items", "total", "limit", "offset"], "additionalProperties": False,
        "properties": {"items": {"type": "array", "items": _ref("Membership")}, "total": {"type": "integer"},
                       "limit": {"type": "integer"}, "offset": {"type": "integer"}},
    },
    "Sigb": {
        "type": "object", "required": ["status", "valid", "name", "birth_year", "expires", "problem"],
        "additionalProperties": False,
        "properties": {
            "status": {"enum": ["found", "unknown", "no_card", "mismatch"],
                       "description": "found; unknown to the SIGB; no_card when Sésame did not keep the number."},
            "valid": {"type": "boolean", "description": "Found and usable today (not expired, lost or blocked)."},
            "name": _NULLABLE_STR, "birth_year": {"type": ["integer", "null"]},
            "expires": {"type": ["string", "null"], "format": "date"},
            "problem": {"type": ["string", "null"], "enum": ["expired", "lost", "blocked", None]},
        },
    },
    "Lookup": {
        "type": "object", "required": ["library", "card_hint", "sigb", "membership"], "additionalProperties": False,
        "properties": {"library": {"type": "string"}, "card_hint": {"type": "string"}, "sigb": _ref("Sigb"),
                       "membership": {"oneOf": [_ref("Membership"), {"type": "null"}]}},
    },
    "PendingLookup": {
        "type": "object", "required": ["membership", "sigb"], "additionalProperties": False,
        "properties": {"membership": _ref("Membership"), "sigb": _ref("Sigb")},
    },
    "Me": {
        "type": "object", "required": ["email", "name", "admin", "libraries"], "additionalProperties": False,
        "properties": {"email": {"type": "string"}, "name": {"type": "string"}, "admin": {"type": "boolean"},
                       "libraries": {"type": "array", "items": {"type": "string"}}},
    },
    "ReasonRequired": {
        "type": "object", "required": ["reason"], "additionalProperties": False,
        "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": 500,
                                  "description": "Sent to the patron by e-mail and kept in the history."}},
    },
    "ReasonOptional": {
        "type": "object", "additionalProperties": False,
        "properties": {"reason": {"type": "string", "maxLength": 500}},
    },
    "BulkValidate": {
        "type": "object", "required": ["ids"], "additionalProperties": False,
        "properties": {"ids": {"type": "array", "minItems": 1, "maxItems": 200,
                               "items": {"type": "integer", "minimum": 1}}},
    },
    "BulkResult": {
        "type": "object", "required": ["approved", "skipped"], "additionalProperties": False,
        "properties": {"approved": {"type": "array", "items": {"type": "integer"}},
                       "skipped": {"type": "array", "items": {"type": "integer"},
                                   "description": "Already decided: left as they were."}},
    },
    "CardLookup": {
        "type": "object", "required": ["card"], "additionalProperties": False,
        "properties": {"card": {"type": "string", "minLength": 1, "maxLength": 64}},
    },
}


def _decision(summary: str, body: str, required: bool) -> dict:
    return {"post": {
        "summary": summary, "tags": ["memberships"], "parameters": [_ID],
        "requestBody": {"required": required, "content": {"application/json": {"schema": _ref(body)}}},
        "responses": {"200": _json(_ref("Membership"), "The membership after the change, with its history."),
                      **_errors(400, 401, 403, 404, 409)},
    }}


PATHS: dict[str, Any] = {
    "/openapi.json": {"get": {"summary": "This document.", "tags": ["meta"], "security": [],
                              "responses": {"200": {"description": "OpenAPI 3.1 document.",
                                                    "content": {"application/json": {"schema": {"type": "object"}}}}}}},
    "/me": {"get": {"summary": "The token's owner and the libraries in their scope.", "tags": ["meta"],
                    "responses": {"200": _json(_ref("Me"), "Owner and scope."), **_errors(401)}}},
    "/libraries": {"get": {
        "summary": "Libraries in scope, with members counted by state.", "tags": ["libraries"],
        "responses": {"200": _json(list_of("Library"), "Libraries in scope."), **_errors(401)}}},
    "/libraries/{code}/counts": {"get": {
        "summary": "Members of a library counted by state.", "tags": ["libraries"], "parameters": [_CODE],
        "responses": {"200": _json({"type": "object", "required": ["library", "counts"], "additionalProperties": False,
                                    "properties": {"library": {"type": "string"}, "counts": _ref("Counts")}},
                                   "Counts by state."), **_errors(401, 403, 404)}}},
    "/libraries/{code}/memberships": {"get": {
        "summary": "A library's memberships, oldest first (state=pending gives the queue).", "tags": ["memberships"],
        "parameters": [_CODE,
                       {"name": "state", "in": "query", "schema": {"enum": STATES}},
                       {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500,
                                                                    "default": 100}},
                       {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "default": 0}}],
        "responses": {"200": _json(_ref("MembershipPage"), "One page of memberships."),
                      **_errors(400, 401, 403, 404)}}},
    "/libraries/{code}/lookup": {"post": {
        "summary": "What the library's SIGB and Sésame know of a card.", "tags": ["lookup"], "parameters": [_CODE],
        "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("CardLookup")}}},
        "responses": {"200": _json(_ref("Lookup"), "SIGB record and membership, if any."),
                      **_errors(400, 401, 403, 404, 503)}}},
    "/memberships/{membership_id}": {"get": {
        "summary": "One membership with its history (who, when, why).", "tags": ["memberships"], "parameters": [_ID],
        "responses": {"200": _json(_ref("Membership"), "The membership."), **_errors(401, 403, 404)}}},
    "/memberships/{membership_id}/lookup": {"get": {
        "summary": "The SIGB's view of a pending registration.", "tags": ["lookup"], "parameters": [_ID],
        "responses": {"200": _json(_ref("PendingLookup"), "Registration and SIGB record."),
                      **_errors(400, 401, 403, 404, 503)}}},
    "/memberships/{membership_id}/validate": _decision("Validate a pending registration.", "ReasonOptional", False),
    "/memberships/{membership_id}/refuse": _decision("Refuse a pending registration, with a reason.",
                                                     "ReasonRequired", True),
    "/memberships/{membership_id}/suspend": _decision("Suspend an active membership, with a reason.",
                                                      "ReasonRequired", True),
    "/memberships/{membership_id}/reactivate": _decision("Reactivate a suspended or expired membership.",
                                                         "ReasonOptional", False),
    "/memberships/validate": {"post": {
        "summary": "Validate several pending registrations at once.", "tags": ["memberships"],
        "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("BulkValidate")}}},
        "responses": {"200": _json(_ref("BulkResult"), "Which were validated and which were left as they were."),
                      **_errors(400, 401, 403, 404)}}},
}

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "Sésame staff API",
        "version": "1.0.0",
        "description": (
            "Membership work of library referents and network admins: list, look up, validate, refuse, "
            "suspend, reactivate, count. Each call acts as the staff user who owns the token, within "
            "their scope (their libraries, or their network for admins); every change is audited and "
            "the patron is told by e-mail. Create tokens in the staff pages (/staff/tokens)."
        ),
    },
    "servers": [{"url": "/api/v1"}],
    "security": [{"bearer": []}],
    "tags": [{"name": "meta"}, {"name": "libraries"}, {"name": "memberships"}, {"name": "lookup"},
             {"name": "suppliers"}],
    "paths": {},
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                       "description": "A staff API token (sst_…)."}},
        "schemas": {},
    },
}


#: modules describing the other parts of /api/v1; each offers ``merge_into(document)`` (see ``.openapi``)
FRAGMENTS = ("broker.web.stats_openapi", "broker.web.api.providers", "broker.providers.link.openapi",
             "broker.providers.saml.openapi", "broker.web.api.admin_spec", "broker.web.api.person_spec",
             "broker.web.api.counter_spec", "broker.web.api.supplier_spec")


def merge_into(document: dict[str, Any]) -> dict[str, Any]:
    """Add the staff routes (memberships, libraries, lookups) to ``document``."""
    return merge(document, PATHS, SCHEMAS)


def openapi_document(routed: set[str] | None = None) -> dict[str, Any]:
    """The whole /api/v1 document; with ``routed`` (the paths the app serves), only those are listed."""
    doc = merge_into(deepcopy(DOCUMENT))
    for name in FRAGMENTS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.merge_into(doc)
    if routed is not None:
        doc["paths"] = {path: ops for path, ops in doc["paths"].items() if path in routed}
    return doc


def routed_paths(url_map) -> set[str]:
    """Paths under /api/v1 of an app's URL map, written as OpenAPI templates."""
    out = set()
    for rule in url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            out.add(re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule[len("/api/v1"):]))
    return out
