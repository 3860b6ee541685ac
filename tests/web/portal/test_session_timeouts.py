"""The patron's session: idle timeout pushed back by activity (without a write on every request)."""

from __future__ import annotations

from sqlalchemy import select

from broker.db.models import StateEntry


def _session_entry(portal):
    with portal.session() as s:
        rows = [row for row in s.scalars(select(StateEntry)) if row.key.startswith("sess:")]
    assert len(rows) == 1, [r.key for r in rows]
    return rows[0]


def test_activity_pushes_the_idle_timeout_back_but_not_on_every_request(make_portal, movable_clock):
    portal = make_portal(clock=movable_clock, session_idle_timeout=600)  # pushed back at most every 100 s
    assert portal.login().status_code == 302
    assert portal.client.get("/account").status_code == 200  # its forms' CSRF token is stored once
    written = _session_entry(portal).expires_at

    movable_clock.advance(30)
    assert portal.client.get("/account").status_code == 200
    assert _session_entry(portal).expires_at == written  # 30 s later: nothing written

    movable_clock.advance(90)
    assert portal.client.get("/account").status_code == 200
    assert _session_entry(portal).expires_at >= written + 100  # 2 minutes later: pushed back


def test_an_idle_session_ends(make_portal, movable_clock):
    portal = make_portal(clock=movable_clock, session_idle_timeout=600)
    assert portal.login().status_code == 302
    movable_clock.advance(601)
    answer = portal.client.get("/account")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]
