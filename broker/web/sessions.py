"""Server-side sessions in the state store; the cookie holds only a random id.

Idle timeout = the entry's TTL (refreshed at most once a minute, so most
requests write nothing); absolute timeout checked against the creation time.
``session.regenerate()`` gives a fresh id at login (no session fixation).

When the state store does not answer, a request that carried a session
cookie, or whose session had to be written, gets a 503 page instead of its
normal answer: the patron would otherwise be shown as logged out, or sent on
with a session that was never stored. Requests that need no session (health,
metrics, static files) are answered as usual, and everything recovers by
itself once the store is back.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from flask import Flask, Request, Response, request
from flask.sessions import SessionInterface, SessionMixin
from werkzeug.datastructures import CallbackDict

from ..clock import SYSTEM, Clock
from ..state import StateStore, StateUnavailable

_SID = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
#: a live session's idle timer is pushed back at most this often (seconds, and at most every sixth of the
#: idle timeout): most requests write nothing, and a session may end up to that much before
#: ``session_idle_timeout`` of inactivity
_TOUCH_EVERY = 300


class StateSession(CallbackDict, SessionMixin):
    def __init__(self, initial: dict[str, Any] | None = None, sid: str | None = None, new: bool = False) -> None:
        def on_update(s: StateSession) -> None:
            s.modified = True

        super().__init__(initial, on_update)
        self.sid = sid
        self.new = new
        self.modified = False
        self.rotate = False
        #: the state store did not answer when the session was read
        self.unavailable = False

    def regenerate(self) -> None:
        """Give the session a new id when it is saved (call at login and logout)."""
        self.rotate = True
        self.modified = True


class StateSessionInterface(SessionInterface):
    def __init__(self, state: StateStore, *, cookie_name: str, idle: int, absolute: int,
                 clock: Clock = SYSTEM) -> None:
        self.state = state
        self.clock = clock
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
                session = StateSession(new=True)
                session.unavailable = True
                return session
            if data is not None:
                now = self.clock.wall()
                if now - data.get("_c", now) <= self.absolute:
                    return StateSession(data, sid=sid)
                try:
                    self.state.delete(f"sess:{sid}")
                except StateUnavailable:
                    pass
        return StateSession(new=True)

    def save_session(self, app: Flask, session: StateSession, response: Response) -> None:  # type: ignore[override]  # this interface only ever opens StateSession
        if request.endpoint in _NO_SESSION_ENDPOINTS:
            return
        if session.unavailable and response.status_code < 500:
            _unavailable(response)
            return
        try:
            self._save(app, session, response)
        except StateUnavailable:
            _unavailable(response)

    def _save(self, app: Flask, session: StateSession, response: Response) -> None:
        name = self.get_cookie_name(app)
        domain = self.get_cookie_domain(app)
        path = self.get_cookie_path(app)
        user_keys = [k for k in session.keys() if k not in ("_c", "_a")]  # keep Flask's _flashes
        if not user_keys:
            if session.sid and (session.modified or session.rotate):
                self.state.delete(f"sess:{session.sid}")
                response.delete_cookie(name, domain=domain, path=path)
            return
        now = int(self.clock.wall())  # whole seconds: the timeouts are counted in seconds, the entry stays small
        last = session.get("_a", 0)
        touch_due = now - last >= min(_TOUCH_EVERY, self.idle / 6)
        if not (session.modified or session.rotate or session.sid is None or touch_due):
            return
        replacing = None
        if session.rotate and session.sid:
            replacing = f"sess:{session.sid}"  # deleted with the write of the new one
            session.sid = None
        new_cookie = session.sid is None
        if new_cookie:
            session.sid = secrets.token_urlsafe(32)
        data = dict(session)
        data.setdefault("_c", now)
        data["_a"] = now
        remaining = int(self.absolute - (now - data["_c"]))
        ttl = max(1, min(self.idle, remaining))
        self.state.put(f"sess:{session.sid}", data, ttl, replacing=replacing)
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


#: endpoints answered without a session even when the state store is down
_NO_SESSION_ENDPOINTS = frozenset({"static", "ops.healthz", "ops.readyz", "ops.metrics"})


def _unavailable(response: Response) -> None:
    """Turn ``response`` into the 503 page (or JSON) in place: the session could not be read or stored."""
    from flask_babel import gettext as _

    from .errors import error_response

    body, status = error_response(503, "state_unavailable", _(
        "Le service est momentanément indisponible. Réessayez dans quelques instants."))
    if isinstance(body, Response):
        response.set_data(body.get_data())
        response.content_type = body.content_type
    else:
        response.set_data(body)
        response.content_type = "text/html; charset=utf-8"
    response.status_code = status
    for header in ("Location", "Set-Cookie", "ETag", "Last-Modified"):
        response.headers.pop(header, None)
    response.headers["Retry-After"] = "5"
    response.headers["Cache-Control"] = "no-store"
