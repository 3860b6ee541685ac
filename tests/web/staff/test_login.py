"""Staff login: passwords, lockout, TOTP for admins (enrolment, replay), session rotation and timeout."""

from __future__ import annotations

import time

import pytest

from broker.testing import MovableClock
from fixtures.staff import ADMIN, REFERENT, VIRE, audit_rows, code, csrf, login, login_admin, post, secret_from


def test_pages_require_login(staff_client):
    for path in ("/staff/", "/staff/libraries/FR-140476101/queue", "/staff/patrons", "/staff/audit", "/staff/tokens"):
        r = staff_client.get(path)
        assert r.status_code == 302
        assert r.headers["Location"].startswith("/staff/login?next=")


def test_referent_logs_in_and_out(staff_app, staff_client):
    r = staff_client.get("/staff/login")
    assert 'autocomplete="username"' in r.get_data(as_text=True)
    assert 'autocomplete="current-password"' in r.get_data(as_text=True)
    before = staff_client.get_cookie("sesame").value
    r = login(staff_client, REFERENT)
    assert r.status_code == 303 and r.headers["Location"] == "/staff/"
    assert staff_client.get_cookie("sesame").value != before  # session id rotated at login
    page = staff_client.get("/staff/").get_data(as_text=True)
    assert "Médiathèque Les 7 Lieux" in page
    assert "Médiathèque de Vire" not in page  # only the referent's library
    r = post(staff_client, "/staff/logout")
    assert r.status_code == 303
    assert staff_client.get("/staff/").status_code == 302
    actions = [a for _, a, *_ in audit_rows(staff_app, actor=REFERENT[0])]
    assert "staff.login" in actions and "staff.logout" in actions


def test_login_goes_back_to_next_but_only_to_staff_pages(staff_client):
    token = csrf(staff_client)
    r = staff_client.post("/staff/login", data={"email": REFERENT[0], "password": REFERENT[1], "csrf_token": token,
                                                "next": "/staff/patrons"})
    assert r.headers["Location"] == "/staff/patrons"
    post(staff_client, "/staff/logout")
    token = csrf(staff_client)
    r = staff_client.post("/staff/login", data={"email": REFERENT[0], "password": REFERENT[1], "csrf_token": token,
                                                "next": "https://evil.example/"})
    assert r.headers["Location"] == "/staff/"


def test_wrong_password_and_unknown_address_get_the_same_answer(staff_app, staff_client):
    token = csrf(staff_client)
    wrong = staff_client.post("/staff/login", data={"email": REFERENT[0], "password": "nope", "csrf_token": token})
    unknown = staff_client.post("/staff/login", data={"email": "nobody@example.org", "password": "nope",
                                                      "csrf_token": token})
    assert wrong.status_code == unknown.status_code == 401
    assert "Adresse ou mot de passe incorrect." in wrong.get_data(as_text=True)
    assert "Adresse ou mot de passe incorrect." in unknown.get_data(as_text=True)
    rows = audit_rows(staff_app, action="staff.login", outcome="failed")
    assert [r[2] for r in rows] == [REFERENT[0]]  # unknown addresses are not written down


def test_repeated_failures_lock_the_account_for_a_while(make_app, staff_template, tmp_path):
    from fixtures.staff import app_from_template

    app = app_from_template(make_app, staff_template, tmp_path, login_card_failures=3, login_lockout_seconds=60)
    client = app.test_client()
    token = csrf(client)
    for _ in range(3):
        r = client.post("/staff/login", data={"email": VIRE[0], "password": "wrong-password", "csrf_token": token})
        assert r.status_code == 401
    r = client.post("/staff/login", data={"email": VIRE[0], "password": VIRE[1], "csrf_token": token})
    assert r.status_code == 429  # even the right password waits
    assert "Trop de tentatives" in r.get_data(as_text=True)
    # a locked address and an unknown one look alike once locked out too
    for _ in range(3):
        client.post("/staff/login", data={"email": "ghost@example.org", "password": "x", "csrf_token": token})
    assert client.post("/staff/login", data={"email": "ghost@example.org", "password": "x",
                                             "csrf_token": token}).status_code == 429
    assert audit_rows(app, action="staff.login", outcome="locked")


def test_lockout_with_the_redis_state_store(make_app, staff_template, tmp_path, redis_url):
    from fixtures.staff import app_from_template

    app = app_from_template(make_app, staff_template, tmp_path, redis_url=redis_url, login_card_failures=2)
    client = app.test_client()
    token = csrf(client)
    for _ in range(2):
        client.post("/staff/login", data={"email": VIRE[0], "password": "wrong-password", "csrf_token": token})
    r = client.post("/staff/login", data={"email": VIRE[0], "password": VIRE[1], "csrf_token": token})
    assert r.status_code == 429
    import redis

    keys = [k.decode() for k in redis.Redis.from_url(redis_url).keys("*")]
    assert any(k.startswith("sesame:staff-lock:") for k in keys)
    assert not any(VIRE[0] in k for k in keys)  # the address itself is not a key


def test_login_without_csrf_token_is_refused(staff_client):
    r = staff_client.post("/staff/login", data={"email": REFERENT[0], "password": REFERENT[1]})
    assert r.status_code == 400
    assert staff_client.get("/staff/").status_code == 302


def test_admin_must_enrol_totp_at_first_login(staff_app, staff_client):
    r = login(staff_client, ADMIN)
    assert r.headers["Location"].endswith("/staff/login/enrol")
    assert staff_client.get("/staff/").status_code == 302  # not logged in without the second factor
    page = staff_client.get("/staff/login/enrol").get_data(as_text=True)
    secret = secret_from(page)
    assert "otpauth://totp/" in page and "issuer=S%C3%A9same" in page
    assert "http" not in page.split('id="totp-uri"')[1][:200].split("otpauth")[0]  # no external QR service
    token = csrf(staff_client, "/staff/login/enrol")
    r = staff_client.post("/staff/login/enrol", data={"code": "000000", "csrf_token": token})
    assert r.status_code == 401
    r = staff_client.post("/staff/login/enrol", data={"code": code(secret), "csrf_token": token})
    assert r.status_code == 303
    assert staff_client.get("/staff/").status_code == 200
    from sqlalchemy import select

    from broker.db.models import StaffUser

    runtime = staff_app.extensions["broker"]
    with runtime.db.session() as s:
        stored = s.scalar(select(StaffUser.totp_secret).where(StaffUser.email == ADMIN[0]))
    assert stored and secret.encode() not in stored  # encrypted at rest
    assert runtime.keys.decrypt(stored).decode() == secret


@pytest.fixture
def still_app(make_app, staff_template, sip2_emulator, tmp_path, smtp_sink):
    """A staff app whose clock stands still: the TOTP codes of a test all name the steps around one "now"."""
    from fixtures.staff import app_from_template

    clock = MovableClock(at=time.time())
    app = app_from_template(make_app, staff_template, tmp_path, sip2_port=sip2_emulator.port, clock=clock,
                            **smtp_sink.settings)
    app.clock = clock
    return app


def test_enrolled_admin_needs_a_fresh_code_each_time(still_app):
    staff_app, clock = still_app, still_app.clock  # "the same code again" names the enrolment's step
    first = staff_app.test_client()
    secret = login_admin(first, clock=clock)
    client = staff_app.test_client()
    r = login(client, ADMIN)
    assert r.headers["Location"].endswith("/staff/login/totp")
    token = csrf(client, "/staff/login/totp")
    used = code(secret, clock=clock)
    r = client.post("/staff/login/totp", data={"code": used, "csrf_token": token})
    assert r.status_code == 401  # already used at enrolment: no replay
    r = client.post("/staff/login/totp", data={"code": "12345x", "csrf_token": token})
    assert r.status_code == 401
    r = client.post("/staff/login/totp", data={"code": code(secret, 1, clock), "csrf_token": token})
    assert r.status_code == 303
    assert client.get("/staff/audit").status_code == 200


def test_password_alone_does_not_open_an_admin_session(staff_app):
    login_admin(staff_app.test_client())
    client = staff_app.test_client()
    login(client, ADMIN)
    assert client.get("/staff/").status_code == 302
    assert client.get("/staff/login/totp").status_code == 200


def test_totp_step_expires(staff_app, monkeypatch):
    from broker.web.staff import staff_session

    login_admin(staff_app.test_client())
    client = staff_app.test_client()
    login(client, ADMIN)
    monkeypatch.setattr(staff_session, "PENDING_SECONDS", -1)
    r = client.get("/staff/login/totp")
    assert r.status_code == 303 and r.headers["Location"] == "/staff/login"


def test_referent_may_turn_totp_on_and_off(still_app):
    staff_client, clock = still_app.test_client(), still_app.clock  # the codes: this step and those either side
    login(staff_client, REFERENT)
    page = staff_client.get("/staff/security?enrol=1").get_data(as_text=True)
    secret = secret_from(page)
    r = post(staff_client, "/staff/security", {"action": "enable", "code": code(secret, clock=clock)}, page="/staff/security")
    assert r.status_code == 303
    assert "Activée" in staff_client.get("/staff/security").get_data(as_text=True)
    post(staff_client, "/staff/logout")
    r = login(staff_client, REFERENT)
    assert r.headers["Location"].endswith("/staff/login/totp")
    token = csrf(staff_client, "/staff/login/totp")
    assert staff_client.post("/staff/login/totp", data={"code": code(secret, 1, clock),
                                                        "csrf_token": token}).status_code == 303
    r = post(staff_client, "/staff/security", {"action": "disable", "code": code(secret, -1, clock)}, page="/staff/security")
    assert r.status_code == 303
    assert "Désactivée" in staff_client.get("/staff/security").get_data(as_text=True)


def test_staff_session_times_out(make_app, staff_template, tmp_path, movable_clock):
    from fixtures.staff import app_from_template

    app = app_from_template(make_app, staff_template, tmp_path, staff_session_timeout=60, clock=movable_clock)
    client = app.test_client()
    login(client, REFERENT)
    assert client.get("/staff/").status_code == 200
    movable_clock.advance(61)
    assert client.get("/staff/").status_code == 302


def test_english_pages(staff_client):
    r = staff_client.get("/staff/login?lang=en")
    assert "Log in" in r.get_data(as_text=True)


def test_a_fixed_session_id_does_not_carry_the_password_step(staff_app):
    """Session fixation between the password and the TOTP enrolment.

    An attacker who planted their session cookie in an admin's browser must
    not be able to take over the half-done login (and enrol their own
    authenticator): the password step gives the browser a new session id.
    """
    attacker = staff_app.test_client()
    victim = staff_app.test_client()
    token = csrf(attacker)
    planted = attacker.get_cookie("sesame").value
    victim.set_cookie("sesame", planted)
    r = victim.post("/staff/login", data={"email": ADMIN[0], "password": ADMIN[1], "csrf_token": token})
    assert r.status_code == 303 and r.headers["Location"].endswith("/staff/login/enrol")
    assert victim.get_cookie("sesame").value != planted
    # the attacker, still on the planted id, gets nothing of the victim's login
    r = attacker.get("/staff/login/enrol")
    assert r.status_code == 303 and r.headers["Location"].endswith("/staff/login")
    # the victim goes on with the new id
    assert "totp-secret" in victim.get("/staff/login/enrol").get_data(as_text=True)
