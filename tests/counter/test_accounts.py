"""SUSHI credentials per supplier: CLI and API, the API key encrypted at rest and never given back."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from broker.db.counter_models import SushiAccount
from fixtures import stats as statskit


def test_cli_sets_credentials_with_the_key_from_the_environment(stats_cli, monkeypatch):
    monkeypatch.setenv("CAFEYN_SUSHI_KEY", "s3cret-key-value")
    r = stats_cli("suppliers", "sushi", "cafeyn", "--url", "https://sushi.example.org/r51/",
                  "--customer-id", "NET-1", "--requestor-id", "sesame", "--api-key-env", "CAFEYN_SUSHI_KEY",
                  "--release", "5.1", "--json")
    assert r.exit_code == 0, r.output
    data = r.json()
    assert data["url"] == "https://sushi.example.org/r51" and data["api_key_set"] is True
    assert "s3cret" not in r.output
    # stored encrypted: the raw column does not hold the key
    import os

    from sqlalchemy import create_engine

    engine = create_engine(os.environ["BROKER_DATABASE_URL"])
    with engine.connect() as conn:
        raw = conn.execute(select(SushiAccount.api_key_encrypted)).scalar_one()
    engine.dispose()
    assert b"s3cret-key-value" not in bytes(raw)


@pytest.mark.parametrize("args, message", [
    (("--url", "ftp://x.example.org", "--customer-id", "A"), "url"),
    (("--url", "https://user:pw@x.example.org", "--customer-id", "A"), "url"),
    (("--url", "https://x.example.org", "--customer-id", " "), "customer_id"),
    (("--url", "https://x.example.org", "--customer-id", "A", "--api-key-env", "NOT_SET_ANYWHERE"), "NOT_SET"),
])
def test_cli_bad_input_exits_2_and_writes_nothing(stats_cli, args, message):
    r = stats_cli("suppliers", "sushi", "cafeyn", *args)
    assert r.exit_code == 2, r.output
    assert message in r.output
    r = stats_cli("suppliers", "members", "cafeyn")
    assert r.exit_code == 2 and "no SUSHI credentials" in r.output


def test_cli_unknown_supplier_exits_2(stats_cli):
    r = stats_cli("suppliers", "sushi", "nope", "--url", "https://x.example.org", "--customer-id", "A")
    assert r.exit_code == 2 and "unknown supplier" in r.output


@pytest.fixture
def admin_api(stats_app, openapi):
    from broker.services import staff
    from fixtures.openapi import check_against_spec

    runtime = stats_app.extensions["broker"]
    tokens = {}
    for email in (statskit.ADMIN, statskit.REFERENT):
        with runtime.db.session() as s:
            tokens[email] = staff.create_api_token(runtime, s, staff.get_user(s, email), "tests", actor=email)
    client = stats_app.test_client()

    def call(method, template, email=statskit.ADMIN, json=None, **params):
        response = client.open("/api/v1" + template.format(**params), method=method, json=json,
                               headers={"Authorization": f"Bearer {tokens[email]}"})
        check_against_spec(openapi, template, method, response)
        return response

    return call


@pytest.fixture(scope="module")
def openapi():
    from broker.web.api.spec import openapi_document

    return openapi_document()


def test_api_sets_and_shows_credentials_without_the_key(admin_api, stats_app):
    r = admin_api("PUT", "/suppliers/{slug}/sushi", slug="cafeyn",
                  json={"url": "https://sushi.example.org/r5", "customer_id": "NET-1", "api_key": "zz-key-zz",
                        "release": "5"})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["api_key_set"] is True and r.get_json()["release"] == "5"
    r = admin_api("GET", "/suppliers/{slug}/sushi", slug="cafeyn")
    assert r.status_code == 200 and "zz-key-zz" not in r.get_data(as_text=True)
    runtime = stats_app.extensions["broker"]
    with runtime.db.session() as s:
        from broker.services.counter.accounts import api_key

        assert api_key(runtime, s.scalar(select(SushiAccount))) == "zz-key-zz"


def test_api_refuses_bad_fields_and_referents(admin_api):
    r = admin_api("PUT", "/suppliers/{slug}/sushi", slug="cafeyn", json={"url": "nope", "customer_id": "A"})
    assert r.status_code == 400 and r.get_json()["field"] == "url"
    r = admin_api("PUT", "/suppliers/{slug}/sushi", slug="cafeyn",
                  json={"url": "https://x.example.org", "customer_id": "A", "release": "4"})
    assert r.status_code == 400 and r.get_json()["field"] == "release"
    r = admin_api("PUT", "/suppliers/{slug}/sushi", slug="cafeyn",
                  json={"url": "https://x.example.org", "customer_id": "A", "password": "x"})
    assert r.status_code == 400 and r.get_json()["field"] == "password"
    r = admin_api("GET", "/suppliers/{slug}/sushi", email=statskit.REFERENT, slug="cafeyn")
    assert r.status_code == 403
    r = admin_api("GET", "/suppliers/{slug}/sushi", slug="no-such-supplier")
    assert r.status_code == 404


def test_api_maps_a_member_to_a_library(admin_api, stats_app):
    from broker.db.counter_models import SushiMember
    from broker.services.suppliers import get_supplier

    runtime = stats_app.extensions["broker"]
    known = statskit.ids(stats_app)
    admin_api("PUT", "/suppliers/{slug}/sushi", slug="cafeyn", json={"url": "https://x.example.org/r51",
                                                                     "customer_id": "NET-1"})
    with runtime.db.session() as s:
        s.add(SushiMember(supplier_id=get_supplier(s, "cafeyn").id, customer_id="M-7L", name="Les 7 Lieux",
                          suggested_library_id=known["library"][statskit.BAYEUX]))
    r = admin_api("PUT", "/suppliers/{slug}/sushi/members/{customer_id}", slug="cafeyn", customer_id="M-7L",
                  json={"library": ""})
    assert r.status_code == 200 and r.get_json()["library"] == statskit.BAYEUX and r.get_json()["confirmed"]
    r = admin_api("PUT", "/suppliers/{slug}/sushi/members/{customer_id}", slug="cafeyn", customer_id="M-7L",
                  json={"library": "FR-000000000"})
    assert r.status_code == 400 and r.get_json()["field"] == "library"
    r = admin_api("PUT", "/suppliers/{slug}/sushi/members/{customer_id}", slug="cafeyn", customer_id="M-7L",
                  json={"library": None})
    assert r.status_code == 200 and r.get_json()["library"] is None
    r = admin_api("PUT", "/suppliers/{slug}/sushi/members/{customer_id}", slug="cafeyn", customer_id="NOPE",
                  json={"library": ""})
    assert r.status_code == 404
    listed = admin_api("GET", "/suppliers/{slug}/sushi", slug="cafeyn").get_json()["members"]
    assert listed == [{"customer_id": "M-7L", "name": "Les 7 Lieux", "suggested_library": statskit.BAYEUX,
                       "library": None, "confirmed": False}]
