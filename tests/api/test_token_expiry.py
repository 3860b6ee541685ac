"""API tokens expire: a lifetime set at creation (at most a year), renewal, a 401 that says so, a warning e-mail."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from broker.testing import MovableClock
from fixtures.staff import VIRE, as_staff, post

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    """The app's clock: it stands at NOW until a test moves it."""
    return MovableClock(at=NOW.timestamp())


@pytest.fixture
def api_app(make_staff_app, clock):
    return make_staff_app(clock=clock)


def _row(app, name: str):
    from broker.services import staff, staff_desk

    runtime = app.extensions["broker"]
    with runtime.db.session() as s:
        user = staff.get_user(s, VIRE[0])
        row = next(t for t in staff_desk.tokens_of(s, user) if t.name == name)
        return row.id, row.expires_at.replace(tzinfo=UTC)


def _create(app, name: str, days=None) -> str:
    from broker.services import staff

    runtime = app.extensions["broker"]
    with runtime.db.session() as s:
        return staff.create_api_token(runtime, s, staff.get_user(s, VIRE[0]), name, actor="test", days=days)


def test_a_token_lives_90_days_by_default_and_a_year_at_most(api_app, clock):
    from broker.errors import InvalidInput

    _create(api_app, "default")
    assert _row(api_app, "default")[1] == NOW + timedelta(days=90)
    _create(api_app, "year", days=365)
    assert _row(api_app, "year")[1] == NOW + timedelta(days=365)
    for bad in (0, 366, "-1", "abc", "1e3"):
        with pytest.raises(InvalidInput):
            _create(api_app, "bad", days=bad)


def test_an_expired_token_gets_401_with_a_description(api, api_app, clock):
    token = _create(api_app, "script", days=30)
    clock.move_to((NOW + timedelta(days=29, hours=23)).timestamp())
    assert api("GET", "/me", token=token).status_code == 200
    clock.move_to((NOW + timedelta(days=30)).timestamp())
    r = api("GET", "/me", token=token)
    assert r.status_code == 401
    assert r.get_json()["error"] == "token_expired"
    assert 'error="invalid_token"' in r.headers["WWW-Authenticate"]
    assert "error_description=" in r.headers["WWW-Authenticate"]
    assert "31/03/2027" in r.get_json()["message"]


def test_renewal_gives_a_new_expiry_and_the_same_secret_works_again(api, api_app, clock):
    from broker.services import staff, staff_desk

    token = _create(api_app, "sync", days=30)
    clock.move_to((NOW + timedelta(days=31)).timestamp())
    assert api("GET", "/me", token=token).status_code == 401
    token_id, _ = _row(api_app, "sync")
    runtime = api_app.extensions["broker"]
    with runtime.db.session() as s:
        staff_desk.renew_token(runtime, s, staff.get_user(s, VIRE[0]), token_id, 90)
    assert _row(api_app, "sync")[1] == clock.utcnow() + timedelta(days=90)
    assert api("GET", "/me", token=token).status_code == 200


def test_the_owner_is_warned_once_a_week_before(api_app, clock):
    from broker.services import staff

    _create(api_app, "soon", days=10)
    _create(api_app, "later", days=90)
    runtime = api_app.extensions["broker"]
    clock.move_to((NOW + timedelta(days=2)).timestamp())  # 8 days left: not yet
    with runtime.db.session() as s:
        assert staff.warn_expiring_tokens(runtime, s) == 0
    clock.move_to((NOW + timedelta(days=4)).timestamp())  # 6 days left
    with runtime.db.session() as s:
        assert staff.warn_expiring_tokens(runtime, s) == 1
    message = api_app.smtp.messages[-1]
    assert message["To"] == VIRE[0] and "expire" in message["Subject"]
    assert "soon" in message.get_body().get_content() and "sst_" not in message.get_body().get_content()
    with runtime.db.session() as s:
        assert staff.warn_expiring_tokens(runtime, s) == 0  # once per expiry


def test_the_tokens_page_shows_expiry_and_last_use_and_renews(api_app, clock):
    client = api_app.test_client()
    as_staff(api_app, client, VIRE)
    created = post(client, "/staff/tokens", {"name": "catalogue", "days": "30"}, page="/staff/tokens")
    assert created.status_code == 200
    html = created.get_data(as_text=True)
    assert "Expire le" in html and "31/03/2027" in html and "Dernier usage" in html
    assert post(client, "/staff/tokens", {"name": "x", "days": "400"}, page="/staff/tokens").status_code == 400
    token_id, _ = _row(api_app, "catalogue")
    clock.move_to((NOW + timedelta(days=10)).timestamp())
    as_staff(api_app, client, VIRE)  # ten days later, the referent logs in again
    renewed = post(client, f"/staff/tokens/{token_id}/renew", {"days": "90"}, page="/staff/tokens")
    assert renewed.status_code == 303
    assert _row(api_app, "catalogue")[1] == NOW + timedelta(days=100)
    page = client.get("/staff/tokens").get_data(as_text=True)
    assert re.search(r"Renouveler pour 90 jours", page)


def test_the_cli_takes_a_lifetime(broker_cli):
    assert broker_cli("staff", "token", "nobody@example.org", "--days", "400").exit_code == 2


def test_the_statistics_api_says_so_too(api_app, clock):
    token = _create(api_app, "stats", days=1)
    client = api_app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    clock.move_to((NOW + timedelta(days=2)).timestamp())
    r = client.get("/api/v1/stats/months", headers=headers)
    assert r.status_code == 401 and r.get_json()["error"] == "token_expired"
    assert 'error="invalid_token"' in r.headers["WWW-Authenticate"]
