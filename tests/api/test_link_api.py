"""``/api/v1/suppliers/link`` and ``/api/v1/providers``: the same checks as the CLI, no secret ever shown."""

from __future__ import annotations

import json

from sqlalchemy import select

from broker.db.models import Supplier

SECRET = "api-shared-secret-5c1e0d7a9b"
TEMPLATE = "https://vod.example.org/sso?u={uid}&t={ts}&s={sig}"


def test_admin_registers_and_lists_link_suppliers(api, api_app, token_for, monkeypatch):
    from fixtures.staff import ADMIN

    token = token_for(ADMIN[0])
    made = api("POST", "/suppliers/link", token=token, json={
        "slug": "vod-api", "name": "VOD", "networks": ["calvados"], "url_template": TEMPLATE, "secret": SECRET,
        "target_origins": ["https://vod.example.org"], "lifetime": 120, "release": ["library"]})
    assert made.status_code == 201, made.get_json()
    data = made.get_json()
    assert data["secret"] == "encrypted store" and data["lifetime"] == 120 and data["release"] == ["library"]
    assert SECRET not in made.get_data(as_text=True)
    monkeypatch.setenv("SESAME_API_LINK_SECRET", SECRET)
    legacy = api("POST", "/suppliers/link", token=token, json={
        "slug": "press-api", "networks": ["calvados"], "url_template": TEMPLATE,
        "secret_env": "SESAME_API_LINK_SECRET", "algorithm": "md5-concat", "allow_legacy": True})
    assert legacy.status_code == 201 and legacy.get_json()["algorithm"] == "md5-concat (legacy)"
    listed = api("GET", "/suppliers/link", token=token).get_json()["suppliers"]
    assert {s["slug"] for s in listed} >= {"vod-api", "press-api"}
    assert SECRET not in json.dumps(listed)
    with api_app.extensions["broker"].db.session() as s:
        config = s.scalar(select(Supplier.config).where(Supplier.slug == "vod-api"))
    assert SECRET not in json.dumps(config)


def test_bad_settings_are_400_and_nothing_registered(api, api_app, token_for):
    from fixtures.staff import ADMIN

    token = token_for(ADMIN[0])
    base = {"slug": "vod-bad", "networks": ["calvados"], "url_template": TEMPLATE, "secret": SECRET}
    for change, expected in (({"url_template": "https://vod.example.org/?u={uid}"}, "{sig}"),
                             ({"url_template": TEMPLATE + "&x={card}"}, "unknown placeholder"),
                             ({"url_template": TEMPLATE.replace("https", "http")}, "https://"),
                             ({"algorithm": "sha1-concat"}, "legacy"),
                             ({"secret": "short"}, "16"),
                             ({"secret_env": "NO_SUCH_VARIABLE", "secret": None}, "is not set"),
                             ({"lifetime": "300"}, ""),
                             ({"surprise": 1}, "")):
        body = {k: v for k, v in {**base, **change}.items() if v is not None}
        answer = api("POST", "/suppliers/link", token=token, json=body)
        assert answer.status_code == 400, (change, answer.get_json())
        assert expected in answer.get_json()["message"], (change, answer.get_json())
    with api_app.extensions["broker"].db.session() as s:
        assert s.scalar(select(Supplier.id).where(Supplier.slug == "vod-bad")) is None


def test_only_admins_of_the_networks_may_register(api, token_for):
    from fixtures.staff import ADMIN, REFERENT

    body = {"slug": "vod-x", "networks": ["calvados"], "url_template": TEMPLATE, "secret": SECRET}
    assert api("POST", "/suppliers/link", token=token_for(REFERENT[0]), json=body).status_code == 403
    other = {**body, "networks": ["caen-la-mer"]}
    assert api("POST", "/suppliers/link", token=token_for(ADMIN[0]), json=other).status_code == 403
    assert api("POST", "/suppliers/link", json=body).status_code == 401


def test_providers_describe_their_settings_forms(api, token_for):
    from fixtures.staff import ADMIN

    providers = api("GET", "/providers", token=token_for(ADMIN[0])).get_json()["providers"]
    names = [p["name"] for p in providers]
    assert {"saml", "oidc", "cas", "link"} <= set(names)
    link = next(p for p in providers if p["name"] == "link")
    fields = {f["name"]: f for f in link["fields"]}
    assert fields["url_template"]["required"] and fields["secret"]["type"] == "secret"
    assert fields["secret"]["default"] is None
    algorithms = {c["value"]: c["legacy"] for c in fields["algorithm"]["choices"]}
    assert algorithms == {"hmac-sha256": False, "hmac-sha1": False, "md5-concat": True, "sha1-concat": True}
    assert fields["algorithm"]["default"] == "hmac-sha256" and fields["target_origins"]["type"] == "list"
