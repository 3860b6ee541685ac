"""Reading JSON request bodies strictly: a clear 400 for anything malformed, never a crash.

:func:`json_body` is the one parser of every /api/v1 route (administration,
statistics and the providers' supplier registration included): one size
limit, messages in the caller's language, and an error naming the field at
fault (``field`` in the answer) for an unknown, missing or mistyped field.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from flask import request
from flask_babel import gettext as _

from ...errors import InvalidInput
from ...services.field_errors import FieldError

MAX_JSON = 64 * 1024

#: what a body may hold: field name → expected type(s), or just the names (the route checks the values)
Allowed = Mapping[str, type | tuple[type, ...]] | Iterable[str]


def json_object() -> dict[str, Any]:
    """The request's JSON object (an empty body is ``{}``): 400 when too large, not JSON or not an object."""
    raw = request.get_data(cache=True)
    if len(raw) > MAX_JSON:
        raise InvalidInput(_("Corps de requête trop volumineux (64 Kio au plus)."), code="body_too_large")
    if not raw.strip():
        data: Any = {}
    else:
        mimetype = request.mimetype or ""
        if mimetype and mimetype != "application/json" and not mimetype.endswith("+json"):
            raise InvalidInput(_("Le corps doit être du JSON (Content-Type: application/json)."),
                               code="bad_content_type")
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise InvalidInput(_("Le corps n'est pas un JSON valide."), code="bad_json") from None
    if not isinstance(data, dict):
        raise InvalidInput(_("Le corps doit être un objet JSON."), code="bad_json")
    return data


def _has_type(value: Any, expected: type | tuple[type, ...]) -> bool:
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, expected)


def json_body(allowed: Allowed, required: Iterable[str] = ()) -> dict[str, Any]:
    """The request's JSON object, with only ``allowed`` keys (of the right types when given as a mapping)."""
    data = json_object()
    types = dict(allowed) if isinstance(allowed, Mapping) else dict.fromkeys(allowed, object)
    for name in sorted(data):
        if name not in types:
            raise FieldError(name[:64], "unknown_field", _("Champ inconnu : %(name)s.", name=name[:64]),
                             name=name[:64])
    for name in required:
        if name not in data:
            raise FieldError(name, "missing_field", _("Champ obligatoire manquant : %(name)s.", name=name), name=name)
    for name, value in data.items():
        if not _has_type(value, types[name]):
            raise FieldError(name, "wrong_type", _("Le champ %(name)s n'a pas le bon type.", name=name), name=name)
    return data


def int_list(values: list, name: str, max_items: int) -> list[int]:
    if len(values) > max_items:
        raise InvalidInput(_("Au plus %(n)d éléments dans %(name)s.", n=max_items, name=name), code="too_many")
    if not all(isinstance(v, int) and not isinstance(v, bool) and 0 < v < 2**31 for v in values):
        raise InvalidInput(_("%(name)s doit être une liste de nombres entiers positifs.", name=name), code="wrong_type")
    return values


def query_int(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise InvalidInput(_("Le paramètre %(name)s doit être un entier entre %(low)d et %(high)d.",
                             name=name, low=low, high=high), code="bad_parameter")
    return int(raw)
