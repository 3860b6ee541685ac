"""Server-side sessions in the state store; the cookie holds only a random id.

Idle timeout = the entry's TTL (refreshed at most once a minute, so most
requests write nothing); absolute timeout checked against the creation time.
``session.regenerate()`` gives a fresh id at login (no session fixation).
"""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

from flask import Flask, Request, Response
from flask.sessions import SessionInterface, SessionMixin
from werkzeug.datastructures import CallbackDict

from ..state import StateStore, StateUnavailable

_SID = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
_TOUCH_EVERY = 60


class StateSession(CallbackDict, SessionMixin):
    def __init__(self, initial: dict[str, Any] | None = None, sid: str | None = None, new: bool = False) -> None:
        def on_update(s: StateSession) -> None:
            s.modified = True

        super().__init__(initial, on_update)
        self.sid = sid
        self.new = new
        self.modified = False
        self.rotate = False

    def regenerate(self) -> None:
        """Give the session a new id when it is saved (call at login and logout)."""
        self.rotate = True
        self.modified = True


class StateSessionInterface(SessionInterface):
    def __init__(self, state: StateStore, *, cookie_name: str, idle: int, absolute: int) -> None:
        self.state = state
        self.cookie_name = cookie_name
        self.idle = idle
        self.absolute = absolute

    def get_cookie_name(self, app: Flask) -> str:
        return self.cookie_name

    def open_session(self, app: Flask, request: Request) -> StateSession:
        sid = request.cookies.get(self.cookie_name)
        if sid and _SID.match(sid):
            try:
                data = self.state.get(f"sess:{sid}")
            except StateUnavailable:
                data = None
            if data is not None:
                now = time.time()
                if now - data.get("_c", now) <= self.absolute:
                    return StateSession(data, sid=sid)
                self.state.delete(f"sess:{sid}")
        return StateSession(new=True)

    def save_session(self, app: Flask, session: StateSession, response: Response) -> None:  # type: ignore[override]
        name = self.get_cookie_name(app)
        domain = self.get_cookie_domain(app)
        path = self.get_cookie_path(app)
        user_keys = [k for k in session.keys() if not k.startswith("_")]
        if not user_keys:
            if session.sid and (session.modified or session.rotate):
                self.state.delete(f"sess:{session.sid}")
                response.delete_cookie(name, domain=domain, path=path)
            return
        now = time.time()
        last = session.get("_a", 0)
        touch_due = now - last >= _TOUCH_EVERY
        if not (session.modified or session.rotate or session.sid is None or touch_due):
            return
        if session.rotate and session.sid:
            self.state.delete(f"sess:{session.sid}")
            session.sid = None
        new_cookie = session.sid is None
        if new_cookie:
            session.sid = secrets.token_urlsafe(32)
        data = dict(session)
        data.setdefault("_c", now)
        data["_a"] = now
        remaining = int(self.absolute - (now - data["_c"]))
        ttl = max(1, min(self.idle, remaining))
        self.state.put(f"sess:{session.sid}", data, ttl)
        if new_cookie or session.rotate:
            response.set_cookie(
                name,
                session.sid,
                httponly=True,
                secure=self.get_cookie_secure(app),
                samesite=self.get_cookie_samesite(app),
                domain=domain,
                path=path,
            )
            session.rotate = False
        response.vary.add("Cookie")
