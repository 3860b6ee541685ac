"""CAS 3.0 validation answers, as XML (the default) or JSON (``format=JSON``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from flask import Response

NS = "http://www.yale.edu/tp/cas"
#: CAS 3.0 §2.5.3 error codes
INVALID_REQUEST = "INVALID_REQUEST"
INVALID_TICKET_SPEC = "INVALID_TICKET_SPEC"
INVALID_TICKET = "INVALID_TICKET"
INVALID_SERVICE = "INVALID_SERVICE"
INTERNAL_ERROR = "INTERNAL_ERROR"


def _json(body: dict) -> Response:
    return Response(json.dumps({"serviceResponse": body}, ensure_ascii=False), 200,
                    {"Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store"})


def _xml(inner: str) -> Response:
    text = f'<cas:serviceResponse xmlns:cas="{NS}">\n{inner}\n</cas:serviceResponse>\n'
    return Response(text, 200, {"Content-Type": "application/xml; charset=utf-8", "Cache-Control": "no-store"})


def failure(code: str, description: str, *, as_json: bool) -> Response:
    if as_json:
        return _json({"authenticationFailure": {"code": code, "description": description}})
    return _xml(f'  <cas:authenticationFailure code="{code}">{escape(description)}</cas:authenticationFailure>')


def success(user: str, attributes: dict[str, list[str]] | None, *, as_json: bool) -> Response:
    """``attributes`` None → CAS 2.0 answer (user only); a dict → CAS 3.0 with ``<cas:attributes>``."""
    if as_json:
        body: dict = {"user": user}
        if attributes is not None:
            body["attributes"] = attributes
        return _json({"authenticationSuccess": body})
    lines = ["  <cas:authenticationSuccess>", f"    <cas:user>{escape(user)}</cas:user>"]
    if attributes is not None:
        lines.append("    <cas:attributes>")
        for name, values in attributes.items():
            for value in values:
                lines.append(f"      <cas:{name}>{escape(value)}</cas:{name}>")
        lines.append("    </cas:attributes>")
    lines.append("  </cas:authenticationSuccess>")
    return _xml("\n".join(lines))


def standard_attributes(auth_time: int, new_login: bool) -> dict[str, list[str]]:
    """The attributes CAS 3.0 defines for every authentication."""
    when = datetime.fromtimestamp(auth_time or 0, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"authenticationDate": [when], "isFromNewLogin": ["true" if new_login else "false"],
            "longTermAuthenticationRequestTokenUsed": ["false"]}
