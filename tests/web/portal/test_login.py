"""Patron login: the SIGB decides, rate limits and lockouts guard it, one answer for every wrong card."""

from __future__ import annotations

import logging
import re

import pytest
from prometheus_client import REGISTRY

VIRE = "FR-147626101"
BAYEUX = "FR-140476101"


def _alert(html: str) -> str:
    """The error summary's text: what the patron is told."""
    match = re.search(r'<div class="error-summary".*?</div>', html, re.S)
    return re.sub(r"\s+", " ", match.group(0)) if match else ""


def _logins(outcome: str) -> float:
    return REGISTRY.get_sample_value("broker_logins_total", {"outcome": outcome}) or 0.0


def test_good_login_rotates_the_session_and_goes_to_next(portal):
    before = portal.csrf()
    old_sid = portal.client.get_cookie("sesame").value
    assert before
    ok = _logins("ok")
    response = portal.login(next="/account")
    assert response.status_code == 302
    assert response.headers["Location"] == "/account"
    assert portal.client.get_cookie("sesame").value != old_sid
    assert portal.client.get_cookie("library").value == VIRE
    page = portal.client.get("/account").get_data(as_text=True)
    assert "Sarah Fontaine" in page
    assert _logins("ok") == ok + 1
    with portal.session() as s:
        assert portal.patron(s, "V0001").last_login_at is not None


@pytest.mark.parametrize("unsafe", ["https://evil.example/", "//evil.example/x", "/\\evil", "javascript:alert(1)"])
def test_next_never_leaves_the_site(portal, unsafe):
    response = portal.login(next=unsafe)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_card_is_normalised_like_the_library_writes_it(portal):
    assert portal.login(card=" v0001 ").status_code == 302


def test_wrong_pin_and_unknown_card_get_the_same_answer(portal):
    wrong = portal.login(password="0000")
    unknown = portal.login(card="NOSUCHCARD", password="0000")
    assert wrong.status_code == unknown.status_code == 400
    assert _alert(wrong.get_data(as_text=True)) == _alert(unknown.get_data(as_text=True))
    assert "Numéro de carte ou mot de passe incorrect" in _alert(wrong.get_data(as_text=True))
    assert portal.client.get("/account").status_code == 302  # still not logged in


def test_lockout_after_failures_hides_whether_the_card_exists(make_portal, movable_clock, caplog):
    portal = make_portal(clock=movable_clock, login_card_failures=3, login_lockout_seconds=900)
    caplog.set_level(logging.DEBUG)
    answers = []
    for card in ("V0001", "GHOST42"):
        for _ in range(3):
            answers.append(portal.login(card=card, password="9999"))
        # locked now: even the right PIN gets the same answer as a wrong one
        answers.append(portal.login(card=card, password="4321"))
    assert {r.status_code for r in answers} == {400}
    # a known card and a card no SIGB knows get the same answers, attempt after attempt (the times of day
    # may differ by the seconds between the two series)
    said = [re.sub(r"\d+", "N", _alert(r.get_data(as_text=True))) for r in answers]
    assert said[:4] == said[4:]
    assert len(set(said)) == 2
    # the first failures say the card or password is wrong; the lockout says so and when to try again
    assert all("Numéro de carte ou mot de passe incorrect" in a for a in said[:2])
    assert all("bloquée jusqu&#N;à N:N (heure de Paris)" in a for a in said[2:4]), said[2]
    assert _logins("locked") >= 2
    # the lockout is keyed by a digest: no card number in the state store nor in the logs
    from sqlalchemy import text

    with portal.runtime.db.engine.connect() as conn:
        keys = [k for (k,) in conn.execute(text("SELECT key FROM state_entries"))]
    assert any(k.startswith("login-lock:") for k in keys)
    assert not [k for k in keys if "V0001" in k or "GHOST42" in k]
    assert "V0001" not in caplog.text and "GHOST42" not in caplog.text and "4321" not in caplog.text
    movable_clock.advance(900)  # the lockout is over
    assert portal.login(card="V0001", password="4321").status_code == 302


def test_rate_limit_per_ip(make_portal):
    portal = make_portal(login_ip_limit=3)
    for _ in range(3):
        assert portal.login(password="0000", REMOTE_ADDR="203.0.113.7").status_code == 400
    limited = portal.login(REMOTE_ADDR="203.0.113.7")
    assert limited.status_code == 429
    assert "Trop de tentatives" in limited.get_data(as_text=True)
    # another address is not affected
    assert portal.login(REMOTE_ADDR="203.0.113.8").status_code == 302


def test_post_without_csrf_token_is_refused(portal):
    response = portal.client.post("/login", data={"library": VIRE, "card": "V0001", "password": "4321"})
    assert response.status_code == 400
    assert portal.client.get("/account").status_code == 302


@pytest.mark.parametrize("data, field", [
    ({"library": VIRE, "card": "", "password": "4321"}, "card"),
    ({"library": VIRE, "card": "V0001", "password": ""}, "password"),
    ({"library": "", "card": "V0001", "password": "4321"}, "library"),
    ({"library": "FR-000000000", "card": "V0001", "password": "4321"}, "library"),
    ({"library": "<script>", "card": "V0001", "password": "4321"}, "library"),
    ({"library": VIRE, "card": "9" * 5000, "password": "4321"}, "card"),
    ({"library": VIRE, "card": "V0001", "password": "x" * 5000}, "password"),
    ({"library": VIRE, "card": "V00\x0001", "password": "4321"}, "card"),
])
def test_bad_input_gets_a_precise_field_error(portal, data, field):
    data = {"csrf_token": portal.csrf(), **data}
    response = portal.client.post("/login", data=data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert f'href="#{field}"' in html
    assert f'id="{field}-error"' in html
    assert "<script>" not in html


def test_expired_card_shows_the_card_invalid_page(portal):
    from broker.services import memberships

    portal.add_local_patron(VIRE, "V0099", expires="2020-01-01")
    with portal.session() as s:
        memberships.import_rows(portal.runtime, s, VIRE, [memberships.ImportRow(2, "V0099", None, "active")])
    response = portal.login(card="V0099", password="1234")
    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert "expirée" in html and "Médiathèque de Vire" in html and "card_invalid" in html


def test_valid_card_without_membership_is_invited_to_register(portal):
    response = portal.login(card="V0002")
    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert "not_registered" in html
    assert f"/register?library={VIRE}" in html
    assert portal.client.get("/account").status_code == 302


def test_sigb_down_is_a_503_naming_the_library(make_portal):
    portal = make_portal()
    response = portal.login(card="29001000000017", password="1234", library=BAYEUX)
    assert response.status_code == 503
    html = response.get_data(as_text=True)
    assert "Médiathèque Les 7 Lieux" in html
    assert "mediatheque@bayeux.example.org" in html


def test_logged_in_patron_skips_the_form_unless_renew(portal):
    portal.login()
    assert portal.client.get("/login?next=/account").headers["Location"] == "/account"
    assert portal.client.get("/login?renew=1").status_code == 200


def test_library_preselected_from_query(portal):
    html = portal.client.get(f"/login?library={VIRE}").get_data(as_text=True)
    assert f'<option value="{VIRE}" selected>' in html
    assert 'autocomplete="username"' in html and 'autocomplete="current-password"' in html
    assert 'name="csrf_token"' in html


def test_lockout_with_the_redis_state_store(make_portal, redis_url):
    portal = make_portal(redis_url=redis_url, login_card_failures=2)
    assert portal.runtime.state.backend == "redis"
    first = portal.login(password="0000")
    second = portal.login(password="0000")
    locked = portal.login()
    assert {first.status_code, second.status_code, locked.status_code} == {400}
    assert "bloquée jusqu" not in _alert(first.get_data(as_text=True))
    assert "bloquée jusqu" in _alert(second.get_data(as_text=True))
    assert _alert(second.get_data(as_text=True)) == _alert(locked.get_data(as_text=True))
    import redis

    client = redis.Redis.from_url(redis_url)
    keys = [k.decode() for k in client.keys("*")]
    client.close()
    assert any("login-lock:" in k for k in keys)
    assert not [k for k in keys if "V0001" in k]
    # another card of the same library is not affected
    assert portal.login(card="V0002").status_code == 403  # valid, just not registered
