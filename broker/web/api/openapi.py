"""Building /api/v1/openapi.json: the pieces every part of the API describes its routes with, and the merge.

Each part of the API (the staff routes in ``spec``, administration, statistics,
the providers' supplier routes…) keeps ``PATHS`` (relative to the ``/api/v1``
server) and ``SCHEMAS`` (under ``components/schemas``) and offers
``merge_into(document)``, written with :func:`merge`. ``spec.openapi_document``
assembles the document from them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from copy import deepcopy
from typing import Any

#: the 401 of every operation behind the bearer token
UNAUTHORIZED = "Missing, unknown or revoked token."


def ref(name: str) -> dict[str, Any]:
    """A reference to a schema of ``components/schemas``."""
    return {"$ref": f"#/components/schemas/{name}"}


def list_of(schema_name: str) -> dict[str, Any]:
    """A list answer: an object whose ``items`` are of a schema of ``components/schemas``."""
    return {"type": "object", "required": ["items"], "additionalProperties": False,
            "properties": {"items": {"type": "array", "items": ref(schema_name)}}}


def json_content(schema: dict[str, Any], description: str) -> dict[str, Any]:
    """A response with a JSON body."""
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def json_request(schema_name: str, *, required: bool = True) -> dict[str, Any]:
    """A JSON request body described by a schema of ``components/schemas``."""
    return {"required": required, "content": {"application/json": {"schema": ref(schema_name)}}}


def error_responses(texts: Mapping[int, str], schema: str = "Error") -> Callable[..., dict[str, Any]]:
    """``errors(*statuses)`` for one part of the API: its wording of each status (401 is the API's)."""
    wording = {401: UNAUTHORIZED, **texts}

    def errors(*statuses: int) -> dict[str, Any]:
        return {str(s): json_content(ref(schema), wording[s]) for s in statuses}

    return errors


def listing(summary: str, schema: str, answer: str, *, tag: str,
            errors: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """A ``get`` answering a list of ``schema`` (see :func:`list_of`)."""
    return {"summary": summary, "tags": [tag],
            "responses": {"200": json_content(list_of(schema), answer), **errors(401, 403)}}


def creation(summary: str, body: str, schema: str, answer: str, *, tag: str,
             errors: Callable[..., dict[str, Any]], parameters: list[dict[str, Any]] | None = None,
             statuses: tuple[int, ...] = (400, 401, 403)) -> dict[str, Any]:
    """A ``post`` that takes a ``body`` and answers 201 with ``schema``; ``statuses`` are its error answers."""
    operation: dict[str, Any] = {"summary": summary, "tags": [tag]}
    if parameters:
        operation["parameters"] = parameters
    operation["requestBody"] = json_request(body)
    operation["responses"] = {"201": json_content(ref(schema), answer), **errors(*statuses)}
    return operation


def read_and_change(what: str, schema: str, parameters: list[dict[str, Any]], body: str, *, tag: str,
                    errors: Callable[..., dict[str, Any]], read: str, change: str,
                    method: str = "patch") -> dict[str, Any]:
    """The operations of one resource: ``get`` answers ``schema``; ``method`` (``patch`` or ``put``) takes a
    ``body`` and answers ``schema`` after the change. ``read`` and ``change`` are their summaries; ``what``
    names the resource in the answers' descriptions ("The library.", "The library after the change.")."""
    return {
        "get": {"summary": read, "tags": [tag], "parameters": parameters,
                "responses": {"200": json_content(ref(schema), f"The {what}."), **errors(401, 403, 404)}},
        method: {"summary": change, "tags": [tag], "parameters": parameters, "requestBody": json_request(body),
                 "responses": {"200": json_content(ref(schema), f"The {what} after the change."),
                               **errors(400, 401, 403, 404)}},
    }


def merge(document: dict[str, Any], paths: Mapping[str, Any], schemas: Mapping[str, Any], *,
          tag: str | None = None, tag_description: str = "") -> dict[str, Any]:
    """Add ``paths`` (operations beside those already on a path), ``schemas`` and ``tag`` to ``document``."""
    doc_paths = document.setdefault("paths", {})
    for path, operations in deepcopy(dict(paths)).items():
        doc_paths.setdefault(path, {}).update(operations)
    document.setdefault("components", {}).setdefault("schemas", {}).update(deepcopy(dict(schemas)))
    if tag is not None:
        tags = document.setdefault("tags", [])
        if not any(t.get("name") == tag for t in tags):
            tags.append({"name": tag, **({"description": tag_description} if tag_description else {})})
    return document
