"""Suppliers through the API: list, register each protocol, change, disable, preview; admins of its networks only."""

from __future__ import annotations

import pytest

from fixtures.staff import ADMIN, CAEN_ADMIN, REFERENT, VIRE_LIB, audit_rows
from fixtures.suppliers import active_membership, sp_metadata

CAS = {"slug": "api-cas", "protocol": "cas", "name": "CAS par l'API", "networks": ["calvados"],
       "settings": {"service_patterns": [r"^https://cas\.example\.org/.*$"]}}


def test_suppliers_answer_as_documented(api, token_for, api_app):
    token = token_for(ADMIN[0])
    listed = {s["slug"]: s for s in api("GET", "/suppliers", token=token).get_json()["items"]}
    assert "vodeclic" in listed and listed["cafeyn"]["enabled"] is True
    r = api("POST", "/suppliers", token=token, json={
        "slug": "api-saml", "protocol": "saml", "name": "SAML par l'API", "networks": ["calvados"],
        "release": ["library"], "settings": {"metadata": sp_metadata("api-saml"), "nameid": "persistent"}})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["settings"]["entity_id"] == "https://api-saml.example.org/shibboleth"
    r = api("POST", "/suppliers", token=token, json={
        "slug": "api-oidc", "protocol": "oidc", "name": "OIDC", "networks": ["calvados"],
        "settings": {"redirect_uris": ["https://rp.example.org/cb"]}})
    assert r.status_code == 201 and len(r.get_json()["client_secret"]) > 30
    first = r.get_json()["client_secret"]
    created = audit_rows(api_app, action="supplier.add", target="api-oidc")[0]
    assert created[0] == ADMIN[0] and created[4]["after"]["settings.redirect_uris"] == ["https://rp.example.org/cb"]
    assert created[4]["after"]["settings.secret"].startswith("***") and first not in str(created)
    assert "client_secret" not in api("GET", "/suppliers/{slug}", token=token, slug="api-oidc").get_json()
    r = api("PATCH", "/suppliers/{slug}", token=token, slug="api-oidc", json={"rotate_secret": True, "grace_days": 3})
    assert r.status_code == 200 and r.get_json()["client_secret"] != first
    assert r.get_json()["settings"]["previous_secret_until"]
    assert api("POST", "/suppliers", token=token, json=CAS).status_code == 201
    r = api("POST", "/suppliers", token=token, json={
        "slug": "api-link", "protocol": "link", "name": "Lien", "networks": ["calvados"],
        "settings": {"url_template": "https://l.example.org/?u={uid}&t={ts}&s={sig}", "secret": "x" * 20}})
    assert r.status_code == 201 and r.get_json()["settings"]["secret_set"] is True and "x" * 20 not in r.get_data(as_text=True)

    r = api("PATCH", "/suppliers/{slug}", token=token, slug="api-cas", json={"enabled": False})
    assert r.status_code == 200 and r.get_json()["enabled"] is False
    assert api("GET", "/suppliers/{slug}", token=token, slug="api-cas").get_json()["enabled"] is False
    assert ("supplier.disable", "api-cas") in {(e[1], e[2]) for e in audit_rows(api_app)}

    membership = active_membership(api_app, VIRE_LIB)
    off = api("GET", "/suppliers/{slug}/preview", token=token, slug="api-cas", query={"membership": membership}).get_json()
    assert off["granted"] is False and off["reason"] == "supplier_disabled" and off["attributes"] == []
    assert api("PATCH", "/suppliers/{slug}", token=token, slug="api-cas", json={"enabled": True}).status_code == 200
    for slug, ident in (("api-saml", "NameID"), ("api-oidc", "sub"), ("api-cas", "user"), ("api-link", "uid")):
        preview = api("GET", "/suppliers/{slug}/preview", token=token, slug=slug,
                      query={"membership": membership}).get_json()
        assert preview["granted"] is True and preview["identifier"]["name"] == ident, preview
    saml = api("GET", "/suppliers/{slug}/preview", token=token, slug="api-saml", query={"membership": membership}).get_json()
    names = {a["name"]: a["values"] for a in saml["attributes"]}
    assert names["urn:oid:1.3.6.1.4.1.25178.1.2.9"] == [VIRE_LIB] and "urn:sesame:attribute:network" not in names
    assert names["urn:oasis:names:tc:SAML:attribute:pairwise-id"][0].startswith(saml["identifier"]["value"])


def test_preview_is_what_issuance_gives(api, token_for, api_app):
    """The preview's subject and attributes are the issuance step's own, for the same patron and supplier."""
    from sqlalchemy import select

    from broker.db.models import Membership, Patron
    from broker.providers import issuance
    from broker.services.suppliers import get_supplier

    token = token_for(ADMIN[0])
    membership = active_membership(api_app, VIRE_LIB)
    preview = api("GET", "/suppliers/{slug}/preview", token=token, slug="skilleos",
                  query={"membership": membership}).get_json()
    runtime = api_app.extensions["broker"]
    with runtime.db.session() as s:
        uid = s.scalar(select(Patron.uid).join(Membership, Membership.patron_id == Patron.id)
                       .where(Membership.id == membership))
        supplier = get_supplier(s, "skilleos")
        issued = issuance.decide(runtime, supplier, uid, "saml")
    assert issued.granted and preview["identifier"]["value"] == issued.subject


@pytest.mark.parametrize("method, template, params, body, field", [
    ("POST", "/suppliers", {}, {**CAS, "colour": "red"}, "colour"),
    ("POST", "/suppliers", {}, {**CAS, "protocol": "ftp"}, "protocol"),
    ("POST", "/suppliers", {}, {**CAS, "slug": "cafeyn"}, "slug"),
    ("POST", "/suppliers", {}, {**CAS, "slug": "saml"}, "slug"),  # /suppliers/saml is the SAML registration API
    ("POST", "/suppliers", {}, {**CAS, "slug": "new"}, "slug"),  # /staff/suppliers/new is the form
    ("POST", "/suppliers", {}, {**CAS, "networks": ["caen-la-mer"]}, "networks"),
    ("POST", "/suppliers", {}, {**CAS, "release": ["card_number"]}, "release"),
    ("POST", "/suppliers", {}, {**CAS, "settings": {"service_patterns": [".*"]}}, "settings.service_patterns"),
    ("POST", "/suppliers", {}, {**CAS, "settings": {"service_patterns": ["(x"]}}, "settings.service_patterns"),
    ("POST", "/suppliers", {}, {**CAS, "settings": {"service_patterns": ["^https://cas\\.example\\.org/.*$"],
                                                    "colour": 1}}, "settings.colour"),
    ("POST", "/suppliers", {}, {**CAS, "protocol": "saml", "settings": {"metadata": "<x"}}, "settings.metadata"),
    ("POST", "/suppliers", {}, {**CAS, "protocol": "saml", "settings": {"metadata": sp_metadata("n", acs=False)}},
     "settings.metadata"),
    ("POST", "/suppliers", {}, {**CAS, "protocol": "oidc", "settings": {"redirect_uris": ["http://x.example.org/"]}},
     "settings.redirect_uris"),
    ("PATCH", "/suppliers/{slug}", {"slug": "cafeyn"}, {"enabled": "no"}, "enabled"),
    ("PATCH", "/suppliers/{slug}", {"slug": "cafeyn"}, {"shape": "round"}, "shape"),
    ("PATCH", "/suppliers/{slug}", {"slug": "vodeclic"}, {"networks": []}, "networks"),
    ("PATCH", "/suppliers/{slug}", {"slug": "cafeyn"}, {"rotate_secret": True}, "protocol"),
])
def test_bad_input_answers_400_with_the_field_and_writes_nothing(refused_without_writing, method, template, params,
                                                                 body, field):
    refused_without_writing("/suppliers", "supplier.", method, template, params, body, field)


def test_preview_needs_a_membership_of_the_admins_networks(api, token_for, api_app):
    token = token_for(CAEN_ADMIN[0])
    r = api("GET", "/suppliers/{slug}/preview", token=token, slug="cafeyn", query={"membership": "abc"})
    assert r.status_code == 400 and r.get_json()["field"] == "membership"
    vire = active_membership(api_app, VIRE_LIB)  # a Calvados patron
    r = api("GET", "/suppliers/{slug}/preview", token=token, slug="cafeyn", query={"membership": vire})
    assert r.status_code == 400 and r.get_json()["field"] == "membership"
    assert not audit_rows(api_app, action="supplier.preview")


def test_referents_and_other_networks_get_403_audited_as_denied(api, token_for, api_app):
    referent, other = token_for(REFERENT[0]), token_for(CAEN_ADMIN[0])
    calls = [("GET", "/suppliers/{slug}", None, {}), ("PATCH", "/suppliers/{slug}", {"enabled": False}, {}),
             ("GET", "/suppliers/{slug}/preview", None, {"membership": 1})]
    for method, template, body, query in calls:
        assert api(method, template, token=referent, json=body, slug="vodeclic", query=query).status_code == 403
        assert api(method, template, token=other, json=body, slug="vodeclic", query=query).status_code == 403
    assert api("GET", "/suppliers", token=referent).status_code == 403
    assert api("POST", "/suppliers", token=referent, json=CAS).status_code == 403
    assert "vodeclic" not in {s["slug"] for s in api("GET", "/suppliers", token=other).get_json()["items"]}
    assert api("GET", "/suppliers/{slug}", token=other, slug="nothing-here").status_code == 404
    denied = {(e[0], e[1]) for e in audit_rows(api_app, outcome="denied")}
    assert {(REFERENT[0], a) for a in ("supplier.view", "supplier.edit", "supplier.preview", "supplier.list",
                                       "supplier.add")} <= denied
    assert {(CAEN_ADMIN[0], a) for a in ("supplier.view", "supplier.edit", "supplier.preview")} <= denied
    assert api("GET", "/suppliers/{slug}", token=token_for(ADMIN[0]), slug="vodeclic").get_json()["enabled"] is True


def test_a_live_server_answers_an_independent_http_client(api_app, token_for, serve_app):
    import requests

    api_app.config["TESTING"] = False
    url = serve_app(api_app)
    headers = {"Authorization": f"Bearer {token_for(ADMIN[0])}", "Accept-Language": "fr"}
    r = requests.patch(f"{url}/api/v1/suppliers/vodeclic", json={"enabled": False, "couleur": "rouge"},
                       headers=headers, timeout=10)
    assert r.status_code == 400 and r.json() == {"error": "unknown_field", "field": "couleur",
                                                 "message": "Champ inconnu : couleur."}
    r = requests.patch(f"{url}/api/v1/suppliers/vodeclic", json={"enabled": False}, headers=headers, timeout=10)
    assert r.status_code == 200 and r.json()["enabled"] is False and r.headers["Cache-Control"] == "no-store"
    gone = requests.get(f"{url}/go/vodeclic", timeout=10)
    assert gone.status_code == 403 and "Ressource suspendue par le réseau" in gone.text
    r = requests.get(f"{url}/api/v1/suppliers", timeout=10)
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
