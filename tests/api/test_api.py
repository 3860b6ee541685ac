"""The JSON API: tokens, scoping and audit like the pages, strict bodies, every answer as the OpenAPI document says."""

from __future__ import annotations

from fixtures.staff import (
    ADMIN,
    BAYEUX,
    CAEN_ADMIN,
    IFS,
    REFERENT,
    VIRE,
    VIRE_LIB,
    add_pending,
    audit_rows,
    membership_id,
    state_of,
)


# -- authentication ----------------------------------------------------------------------
def test_missing_unknown_and_revoked_tokens_get_401(api, api_app, token_for):
    r = api("GET", "/me")
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
    assert api("GET", "/me", token="not a token").status_code == 401
    assert api("GET", "/me", token="sst_" + "A" * 43).status_code == 401
    token = token_for(VIRE[0])
    assert api("GET", "/me", token=token).status_code == 200
    from broker.services import staff, staff_desk

    runtime = api_app.extensions["broker"]
    with runtime.db.session() as s:
        user = staff.get_user(s, VIRE[0])
        staff_desk.revoke_token(runtime, s, user, staff_desk.tokens_of(s, user)[0].id)
    r = api("GET", "/me", token=token)
    assert r.status_code == 401 and r.get_json()["error"] == "unauthorized"


def test_an_inactive_account_loses_api_access(api, api_app, token_for):
    from broker.services import staff

    token = token_for(VIRE[0])
    runtime = api_app.extensions["broker"]
    with runtime.db.session() as s:
        staff.get_user(s, VIRE[0]).active = False
    assert api("GET", "/me", token=token).status_code == 401


def test_me_and_libraries_are_scoped(api, token_for):
    me = api("GET", "/me", token=token_for(VIRE[0])).get_json()
    assert me == {"email": VIRE[0], "name": "", "admin": False, "libraries": [VIRE_LIB]}
    libs = api("GET", "/libraries", token=token_for(ADMIN[0])).get_json()["items"]
    codes = {lib["code"] for lib in libs}
    assert {BAYEUX, VIRE_LIB} <= codes and IFS not in codes
    bayeux = next(lib for lib in libs if lib["code"] == BAYEUX)
    assert bayeux["counts"]["active"] == 4 and bayeux["network"] == "calvados"


# -- lists and counts ----------------------------------------------------------------------
def test_counts_and_list(api, token_for):
    token = token_for(REFERENT[0])
    counts = api("GET", "/libraries/{code}/counts", token=token, code=BAYEUX).get_json()["counts"]
    assert counts == {"pending": 1, "active": 4, "refused": 1, "suspended": 1, "expired": 1, "closed": 0}
    page = api("GET", "/libraries/{code}/memberships", token=token, code=BAYEUX, query={"state": "pending"}).get_json()
    assert page["total"] == 1 and page["items"][0]["card_hint"] == "0025"
    page = api("GET", "/libraries/{code}/memberships", token=token, code=BAYEUX,
               query={"limit": 3, "offset": 3}).get_json()
    assert page["total"] == 8 and len(page["items"]) == 3 and page["offset"] == 3
    for query in ({"state": "nope"}, {"limit": 0}, {"limit": 501}, {"limit": "x"}, {"offset": "-1"}):
        r = api("GET", "/libraries/{code}/memberships", token=token, code=BAYEUX, query=query)
        assert r.status_code == 400, query


def test_unknown_library_is_404(api, token_for):
    token = token_for(ADMIN[0])
    assert api("GET", "/libraries/{code}/counts", token=token, code="FR-000000000").status_code == 404
    assert api("GET", "/libraries/{code}/counts", token=token, code="bad code!").status_code == 404


# -- scope --------------------------------------------------------------------------------
def test_referent_of_one_library_acting_on_another_is_403_and_audited(api, api_app, token_for):
    token = token_for(VIRE[0])
    pending = membership_id(api_app, BAYEUX, "29001000000025")
    active = membership_id(api_app, BAYEUX, "29001000000017")
    calls = [
        ("GET", "/libraries/{code}/counts", {"code": BAYEUX}, None),
        ("GET", "/libraries/{code}/memberships", {"code": BAYEUX}, None),
        ("POST", "/libraries/{code}/lookup", {"code": BAYEUX}, {"card": "29001000000017"}),
        ("GET", "/memberships/{membership_id}", {"membership_id": active}, None),
        ("POST", "/memberships/{membership_id}/validate", {"membership_id": pending}, {}),
        ("POST", "/memberships/{membership_id}/refuse", {"membership_id": pending}, {"reason": "no"}),
        ("POST", "/memberships/{membership_id}/suspend", {"membership_id": active}, {"reason": "no"}),
        ("POST", "/memberships/validate", {}, {"ids": [pending]}),
    ]
    for method, template, params, body in calls:
        r = api(method, template, token=token, json=body, **params)
        assert r.status_code == 403, template
        assert r.get_json()["error"] == "out_of_scope"
    assert state_of(api_app, pending) == "pending" and state_of(api_app, active) == "active"
    denied = audit_rows(api_app, actor=VIRE[0], outcome="denied")
    assert len(denied) == len(calls)
    assert {d[1] for d in denied} >= {"membership.approve", "membership.refuse", "membership.suspend"}


def test_admin_of_another_network_is_403(api, api_app, token_for):
    mid = membership_id(api_app, VIRE_LIB, "V0002")
    r = api("POST", "/memberships/{membership_id}/validate", token=token_for(CAEN_ADMIN[0]), json={},
            membership_id=mid)
    assert r.status_code == 403


# -- lookups ------------------------------------------------------------------------------
def test_lookup_by_card_local_connector(api, token_for):
    token = token_for(VIRE[0])
    body = api("POST", "/libraries/{code}/lookup", token=token, code=VIRE_LIB, json={"card": " v0002 "}).get_json()
    assert body["sigb"] == {"status": "found", "valid": True, "name": "Thomas Garnier", "birth_year": 1993,
                            "expires": "2030-12-31", "problem": None}
    assert body["membership"]["state"] == "pending" and body["card_hint"] == "0002"
    body = api("POST", "/libraries/{code}/lookup", token=token, code=VIRE_LIB, json={"card": "V9999"}).get_json()
    assert body["sigb"]["status"] == "unknown" and body["membership"] is None


def test_lookup_by_card_over_sip2(api, token_for):
    token = token_for(REFERENT[0])
    body = api("POST", "/libraries/{code}/lookup", token=token, code=BAYEUX, json={"card": "29001000000017"}).get_json()
    assert body["sigb"]["name"] == "Camille Martin" and body["sigb"]["valid"] is True
    assert body["membership"]["state"] == "active"
    lost = api("POST", "/libraries/{code}/lookup", token=token, code=BAYEUX, json={"card": "29001000000074"}).get_json()
    assert lost["sigb"]["valid"] is False and lost["sigb"]["problem"] == "lost"


def test_lookup_of_a_pending_registration(api, api_app, token_for):
    token = token_for(ADMIN[0])
    mid = membership_id(api_app, VIRE_LIB, "V0002")
    body = api("GET", "/memberships/{membership_id}/lookup", token=token, membership_id=mid).get_json()
    assert body["sigb"]["name"] == "Thomas Garnier" and body["membership"]["id"] == mid
    imported = membership_id(api_app, BAYEUX, "29001000000025")
    body = api("GET", "/memberships/{membership_id}/lookup", token=token, membership_id=imported).get_json()
    assert body["sigb"]["status"] == "no_card"
    active = membership_id(api_app, BAYEUX, "29001000000017")
    assert api("GET", "/memberships/{membership_id}/lookup", token=token,
               membership_id=active).status_code == 400


# -- decisions ----------------------------------------------------------------------------
def test_validate_refuse_suspend_reactivate(api, api_app, token_for):
    token = token_for(VIRE[0])
    mid = membership_id(api_app, VIRE_LIB, "V0002")
    body = api("POST", "/memberships/{membership_id}/validate", token=token, membership_id=mid).get_json()
    assert body["state"] == "active" and body["history"][-1]["actor"] == VIRE[0]
    assert api("POST", "/memberships/{membership_id}/validate", token=token, membership_id=mid).status_code == 409
    r = api("POST", "/memberships/{membership_id}/suspend", token=token, membership_id=mid, json={})
    assert r.status_code == 400 and r.get_json()["error"] == "missing_field"
    r = api("POST", "/memberships/{membership_id}/suspend", token=token, membership_id=mid, json={"reason": " "})
    assert r.status_code == 400 and r.get_json()["error"] == "reason_required"
    body = api("POST", "/memberships/{membership_id}/suspend", token=token, membership_id=mid,
               json={"reason": "Abus signalé"}).get_json()
    assert body["state"] == "suspended" and body["history"][-1]["reason"] == "Abus signalé"
    body = api("POST", "/memberships/{membership_id}/reactivate", token=token, membership_id=mid,
               json={"reason": "Réglé"}).get_json()
    assert body["state"] == "active"
    other = add_pending(api_app, "V6001", "Refusé Api", "refuse.api@example.org")
    body = api("POST", "/memberships/{membership_id}/refuse", token=token, membership_id=other,
               json={"reason": "Pas inscrit"}).get_json()
    assert body["state"] == "refused"
    subjects = [m["Subject"] for m in api_app.smtp.messages]
    assert any("validée" in s for s in subjects) and any("suspendu" in s for s in subjects)
    assert any(m["To"] == "refuse.api@example.org" and "pas été validée" in m["Subject"] for m in api_app.smtp.messages)
    actions = [a for _, a, *_ in audit_rows(api_app, actor=VIRE[0], outcome="ok")]
    assert actions.count("membership.approve") == 1 and "membership.suspend" in actions


def test_bulk_validate(api, api_app, token_for):
    token = token_for(VIRE[0])
    ids = [add_pending(api_app, f"V610{i}", f"Bulk {i}") for i in range(3)]
    api("POST", "/memberships/{membership_id}/validate", token=token, membership_id=ids[0])
    body = api("POST", "/memberships/validate", token=token, json={"ids": ids}).get_json()
    assert body == {"approved": ids[1:], "skipped": ids[:1]}
    for bad in ({"ids": []}, {"ids": ["1"]}, {"ids": [True]}, {"ids": [0]}, {"ids": [2**40]},
                {"ids": list(range(1, 300))}, {"ids": 5}, {}):
        assert api("POST", "/memberships/validate", token=token, json=bad).status_code == 400, bad
    assert api("POST", "/memberships/validate", token=token, json={"ids": [99999999]}).status_code == 404


# -- bad input ------------------------------------------------------------------------------
def test_malformed_bodies_are_400_with_a_clear_message(api, api_app, token_for):
    token = token_for(VIRE[0])
    mid = membership_id(api_app, VIRE_LIB, "V0002")
    path = "/memberships/{membership_id}/refuse"
    cases = {
        "bad_json": dict(data=b'{"reason": '),
        "bad_json ": dict(data=b"\xff\xfe not utf-8"),
        "bad_json  ": dict(data=b"[" * 5000 + b"]" * 5000),
        "bad_json   ": dict(data=b'["reason"]'),
        "bad_content_type": dict(data=b"reason=x", content_type="application/x-www-form-urlencoded"),
        "wrong_type": dict(json={"reason": 5}),
        "wrong_type ": dict(json={"reason": None}),
        "unknown_field": dict(json={"reason": "ok", "state": "active"}),
        "reason_too_long": dict(json={"reason": "x" * 501}),
        "body_too_large": dict(json={"reason": "x" * 70_000}),
    }
    for code, kwargs in cases.items():
        r = api("POST", path, token=token, membership_id=mid, **kwargs)
        assert r.status_code == 400, (code, r.get_json())
        assert r.get_json()["error"] == code.strip() and r.get_json()["message"], code
    assert state_of(api_app, mid) == "pending"
    r = api("POST", "/libraries/{code}/lookup", token=token, code=VIRE_LIB, json={"card": "9" * 65})
    assert r.status_code == 400 and r.get_json()["error"] == "bad_card"
    r = api("POST", "/libraries/{code}/lookup", token=token, code=VIRE_LIB, json={"card": ["V0002"]})
    assert r.status_code == 400


def test_oversized_request_and_unknown_routes_answer_json(api_client, token_for):
    headers = {"Authorization": f"Bearer {token_for(VIRE[0])}"}
    r = api_client.post("/api/v1/memberships/validate", data=b"x" * (2 * 1024 * 1024), headers=headers,
                        content_type="application/json")
    assert r.status_code == 413 and r.is_json
    r = api_client.get("/api/v1/nothing-here", headers=headers)
    assert r.status_code == 404 and r.is_json
    r = api_client.delete("/api/v1/me", headers=headers)
    assert r.status_code == 405 and r.is_json
    r = api_client.get("/api/v1/memberships/99999999999999", headers=headers)
    assert r.status_code == 404 and r.is_json


def test_english_messages(api_client):
    r = api_client.get("/api/v1/me", headers={"Accept-Language": "en"})
    assert r.get_json()["message"].startswith("Missing API token")
    r = api_client.get("/api/v1/me")
    assert r.get_json()["message"].startswith("Jeton d'API manquant")
