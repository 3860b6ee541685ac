"""Network administration through the API: admins only, their networks only, the CLI's checks, audited."""

from __future__ import annotations

import pytest

from fixtures.staff import ADMIN, CAEN_ADMIN, REFERENT, audit_rows


def test_partners_and_fees_answer_as_documented(api, token_for, api_app):
    token = token_for(ADMIN[0])
    listed = api("GET", "/partners", token=token).get_json()["items"]
    assert {p["slug"] for p in listed} >= {"bayeux-intercom", "lisieux"} and "caen-la-mer" not in {p["slug"] for p in listed}
    r = api("POST", "/partners", token=token, json={
        "slug": "api-commune", "name": "Commune par l'API", "kind": "commune", "population": 6452,
        "network": "calvados", "agreement": {"start": "2025-07-01", "end": "2027-06-30"}})
    assert r.status_code == 201 and r.get_json()["agreements"][0]["history"][0]["kind"] == "add"
    r = api("PATCH", "/partners/{slug}", token=token, slug="api-commune", json={"population": 6500,
                                                                                "population_year": 2026})
    assert r.status_code == 200 and r.get_json()["population"] == 6500
    assert r.get_json()["populations"] == {"2025": 6452, "2026": 6500}
    r = api("POST", "/partners/{slug}/agreements", token=token, slug="api-commune",
            json={"start": "2027-07-01", "end": "2029-12-31", "rate": "0.2", "note": "renouvellement"})
    assert r.status_code == 201 and len(r.get_json()["agreements"]) == 2
    assert api("GET", "/partners/{slug}", token=token, slug="api-commune").status_code == 200
    fees = api("GET", "/fees", token=token, query={"year": 2025}).get_json()
    line = next(i for i in fees["items"] if i["partner"] == "api-commune")
    assert line == {"partner": "api-commune", "name": "Commune par l'API", "kind": "commune", "network": "calvados",
                    "population": 6452, "rate": "0.15", "days": 184, "year_days": 365, "fee": "487.88"}
    conde = next(i for i in fees["items"] if i["partner"] == "conde-en-normandie")
    assert conde["fee"] == "967.80"
    assert fees["total"] == f"{sum(float(i['fee']) for i in fees['items']):.2f}"
    actions = [(e[0], e[1], e[2]) for e in audit_rows(api_app) if e[2] == "api-commune"]
    assert actions == [(ADMIN[0], "partner.add", "api-commune"), (ADMIN[0], "partner.edit", "api-commune"),
                       (ADMIN[0], "agreement.add", "api-commune")]


@pytest.mark.parametrize("method, template, params, body, field", [
    ("PATCH", "/partners/{slug}", {"slug": "lisieux"}, {"population": -3}, "population"),
    ("PATCH", "/partners/{slug}", {"slug": "lisieux"}, {"population": 12.5}, "population"),
    ("PATCH", "/partners/{slug}", {"slug": "lisieux"}, {"name": "L", "colour": "red"}, "colour"),
    ("POST", "/partners/{slug}/agreements", {"slug": "lisieux"}, {"start": "2031-01-01", "end": "2030-01-01"}, "end"),
    ("POST", "/partners/{slug}/agreements", {"slug": "lisieux"}, {"start": "2029-01-01", "end": "2031-01-01"}, "start"),
    ("POST", "/partners", {}, {"slug": "x", "name": "X", "kind": "commune", "population": 1, "network": "calvados",
                               "agreement": {"start": "2026-01-01", "end": "2025-01-01"}}, "agreement.end"),
    ("POST", "/partners", {}, {"slug": "lisieux", "name": "X", "kind": "commune", "population": 1,
                               "network": "calvados"}, "slug"),
])
def test_bad_input_answers_400_with_the_field_and_writes_nothing(refused_without_writing, method, template, params,
                                                                 body, field):
    refused_without_writing("/partners", ("partner.", "agreement."), method, template, params, body, field)


def test_referents_and_other_networks_get_403_audited_as_denied(api, token_for, api_app):
    referent, other = token_for(REFERENT[0]), token_for(CAEN_ADMIN[0])
    calls = [("GET", "/partners", {}, None), ("GET", "/partners/{slug}", {"slug": "lisieux"}, None),
             ("PATCH", "/partners/{slug}", {"slug": "lisieux"}, {"name": "Pris"}),
             ("POST", "/partners/{slug}/agreements", {"slug": "lisieux"}, {"start": "2035-01-01", "end": "2036-01-01"}),
             ("POST", "/partners", {}, {"slug": "n", "name": "N", "kind": "commune", "population": 1,
                                        "network": "calvados"})]
    for method, template, params, body in calls:
        assert api(method, template, token=referent, json=body, **params).status_code == 403, (template, "referent")
    assert api("GET", "/fees", token=referent, query={"year": 2025}).status_code == 403
    for method, template, params, body in calls[1:]:
        assert api(method, template, token=other, json=body, **params).status_code == 403, (template, "other")
    assert "lisieux" not in {p["slug"] for p in api("GET", "/partners", token=other).get_json()["items"]}
    denied = {(e[0], e[1]) for e in audit_rows(api_app, outcome="denied")}
    assert {(REFERENT[0], a) for a in ("partner.list", "partner.view", "partner.edit", "agreement.add",
                                       "partner.add", "fees.view")} <= denied
    assert {(CAEN_ADMIN[0], a) for a in ("partner.view", "partner.edit", "agreement.add", "partner.add")} <= denied


def test_a_live_server_answers_an_independent_http_client(api_app, token_for, serve_app):
    import requests

    api_app.config["TESTING"] = False
    url = serve_app(api_app)
    token = token_for(ADMIN[0])
    r = requests.get(f"{url}/api/v1/fees", params={"year": "2025"}, headers={"Authorization": f"Bearer {token}"},
                     timeout=10)
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    assert '"fee":"967.80"' in r.text.replace(" ", "")
    r = requests.patch(f"{url}/api/v1/partners/lisieux", json={"population": "beaucoup"},
                       headers={"Authorization": f"Bearer {token}", "Accept-Language": "fr"}, timeout=10)
    assert r.status_code == 400 and r.json() == {"error": "not_whole", "field": "population",
                                                 "message": "La population doit être un nombre entier."}
    r = requests.get(f"{url}/api/v1/partners", timeout=10)
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")


def test_staff_accounts_through_the_api(api, token_for, api_app):
    from fixtures.staff import VIRE, VIRE_LIB

    token = token_for(ADMIN[0])
    listed = {a["email"]: a for a in api("GET", "/staff", token=token).get_json()["items"]}
    assert listed[VIRE[0]]["roles"] == [{"role": "referent", "scope": VIRE_LIB}] and CAEN_ADMIN[0] not in listed
    r = api("POST", "/staff", token=token, json={"email": "api@vire.example.org", "role": "referent",
                                                 "scope": VIRE_LIB})
    assert r.status_code == 201 and set(r.get_json()) == {"email", "role", "scope", "invitation_expires"}
    assert "password" not in r.get_data(as_text=True)
    r = api("POST", "/staff", token=token, json={"email": VIRE[0], "role": "referent", "scope": VIRE_LIB})
    assert r.status_code == 400 and r.get_json()["field"] == "email"
    vire_token = token_for(VIRE[0])
    r = api("PATCH", "/staff/{email}", token=token, email=VIRE[0], json={"active": False})
    assert r.status_code == 200 and r.get_json()["active"] is False
    assert api("GET", "/me", token=vire_token).status_code == 401
    r = api("PATCH", "/staff/{email}", token=token, email=ADMIN[0], json={"active": False})
    assert r.status_code == 400 and r.get_json()["field"] == "active"
    r = api("PATCH", "/staff/{email}", token=token, email=VIRE[0], json={"active": True, "role": "admin"})
    assert r.status_code == 400 and r.get_json()["field"] == "role"
    r = api("PATCH", "/staff/{email}", token=token, email="api@vire.example.org", json={"reset_password": True})
    assert r.status_code == 200 and "invitation_expires" in r.get_json()
    referent = token_for(REFERENT[0])
    assert api("GET", "/staff", token=referent).status_code == 403
    assert api("PATCH", "/staff/{email}", token=referent, email=VIRE[0], json={"active": True}).status_code == 403
    other = token_for(CAEN_ADMIN[0])
    assert api("PATCH", "/staff/{email}", token=other, email=VIRE[0], json={"active": True}).status_code == 403
    assert api("POST", "/staff", token=other, json={"email": "z@example.org", "role": "referent",
                                                    "scope": VIRE_LIB}).status_code == 400
    denied = {(e[0], e[1]) for e in audit_rows(api_app, outcome="denied")}
    assert {(REFERENT[0], "staff.list"), (REFERENT[0], "staff.change"), (CAEN_ADMIN[0], "staff.change")} <= denied
    assert [e[1] for e in audit_rows(api_app, target=VIRE[0]) if e[0] == ADMIN[0]] == ["staff.deactivate"]
