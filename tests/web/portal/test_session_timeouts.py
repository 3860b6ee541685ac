"""The patron's session: idle timeout pushed back by activity (without a write on every request)."""

from __future__ import annotations

import time

from sqlalchemy import select

from broker.db.models import StateEntry


def _session_entry(portal):
    with portal.session() as s:
        rows = [row for row in s.scalars(select(StateEntry)) if row.key.startswith("sess:")]
    assert len(rows) == 1, [r.key for r in rows]
    return rows[0]


def test_activity_pushes_the_idle_timeout_back_but_not_on_every_request(make_portal, monkeypatch):
    portal = make_portal(session_idle_timeout=600)  # pushed back at most every 100 s
    assert portal.login().status_code == 302
    assert portal.client.get("/account").status_code == 200  # its forms' CSRF token is stored once
    written = _session_entry(portal).expires_at

    clock = time.time()
    monkeypatch.setattr("broker.web.sessions.time.time", lambda: clock + 30)
    assert portal.client.get("/account").status_code == 200
    assert _session_entry(portal).expires_at == written  # 30 s later: nothing written

    monkeypatch.setattr("broker.web.sessions.time.time", lambda: clock + 120)
    monkeypatch.setattr("broker.state.sql_store.time.time", lambda: clock + 120)
    assert portal.client.get("/account").status_code == 200
    assert _session_entry(portal).expires_at >= written + 100  # 2 minutes later: pushed back


def test_an_idle_session_ends(make_portal, monkeypatch):
    portal = make_portal(session_idle_timeout=600)
    assert portal.login().status_code == 302
    later = time.time() + 601
    monkeypatch.setattr("broker.state.sql_store.time.time", lambda: later)
    answer = portal.client.get("/account")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]
