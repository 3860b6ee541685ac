"""Reading JSON request bodies strictly: a clear 400 for anything malformed, never a crash."""

from __future__ import annotations

import json
from typing import Any

from flask import request
from flask_babel import gettext as _

from ...errors import InvalidInput

MAX_JSON = 64 * 1024


def json_body(allowed: dict[str, type], required: tuple[str, ...] = ()) -> dict[str, Any]:
    """The request's JSON object, with only ``allowed`` keys of the right types."""
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
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise InvalidInput(_("Champ inconnu : %(name)s.", name=unknown[0][:64]), code="unknown_field")
    for name in required:
        if name not in data:
            raise InvalidInput(_("Champ obligatoire manquant : %(name)s.", name=name), code="missing_field")
    for name, value in data.items():
        expected = allowed[name]
        if expected is list:
            ok = isinstance(value, list)
        elif expected is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
        else:
            ok = isinstance(value, expected)
        if not ok:
            raise InvalidInput(_("Le champ %(name)s n'a pas le bon type.", name=name), code="wrong_type")
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
