"""What a demo supplier remembers of its visitor, as a separate site would: its own cookie, its own session.

Each demo supplier sets a cookie on its own path holding only a random key;
what it received from Sésame (and a login in progress) is kept in the
broker's state store under that key, for an hour. Nothing of it is shared
with Sésame's own session.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, request

from .kinds import Kind

TTL = 3600
COOKIE = "demo_supplier"


def _runtime() -> Any:
    return current_app.extensions["broker"]


def _key(kind: Kind, sid: str) -> str:
    return f"demo:supplier:{kind.protocol}:{sid}"


def _sid(kind: Kind) -> str | None:
    sid = request.cookies.get(f"{COOKIE}_{kind.protocol}")
    return sid if sid and 20 <= len(sid) <= 64 and sid.replace("-", "").replace("_", "").isalnum() else None


def load(kind: Kind) -> dict[str, Any]:
    sid = _sid(kind)
    if sid is None:
        return {}
    return _runtime().state.get(_key(kind, sid)) or {}


def save(kind: Kind, response, data: dict[str, Any]) -> None:
    """Keep ``data`` as this visitor's session of ``kind`` (a new key each time: no fixation)."""
    old = _sid(kind)
    sid = secrets.token_urlsafe(24)
    state = _runtime().state
    state.put(_key(kind, sid), data, TTL)
    if old:
        state.delete(_key(kind, old))
    response.set_cookie(f"{COOKIE}_{kind.protocol}", sid, max_age=TTL, path=kind.path(), httponly=True,
                        secure=_runtime().settings.secure_cookies, samesite="Lax")


def clear(kind: Kind, response) -> None:
    old = _sid(kind)
    if old:
        _runtime().state.delete(_key(kind, old))
    response.delete_cookie(f"{COOKIE}_{kind.protocol}", path=kind.path())


def local_target(kind: Kind, base_url: str, target: str | None) -> str:
    """The page of this demo supplier a (deep link) target names, as a path; its home page otherwise.

    Only addresses of the demo supplier itself are followed (a full URL on the
    broker's address, or a path), never another site.
    """
    home = kind.path()
    if not target or len(target) > 1000 or "\\" in target or any(ord(c) < 0x20 for c in target):
        return home
    try:
        parts = urlsplit(target)
        own = urlsplit(base_url)
    except ValueError:
        return home
    if (parts.scheme or parts.netloc) and (parts.scheme, parts.netloc) != (own.scheme, own.netloc):
        return home
    path = parts.path
    if not path.startswith(home) or "//" in path or "/../" in path or path.endswith("/.."):
        return home
    return path + (f"?{parts.query}" if parts.query else "")
