"""Libraries through the API: list, add, change, disable, test a card; admins of the library's network only."""

from __future__ import annotations

import pytest

from fixtures.staff import ADMIN, BAYEUX, CAEN_ADMIN, REFERENT, VIRE_LIB, audit_rows


def test_libraries_answer_as_documented_and_secrets_stay_write_only(api, token_for, api_app):
    token = token_for(ADMIN[0])
    bayeux = api("GET", "/libraries/{code}", token=token, code=BAYEUX).get_json()
    assert bayeux["network"] == "calvados" and bayeux["partner"] == "bayeux-intercom"
    assert bayeux["secrets"] == {"password": True, "terminal_password": False}
    assert "password" not in bayeux["settings"] and bayeux["enabled"] is True
    r = api("PATCH", "/libraries/{code}", token=token, code=BAYEUX,
            json={"name": "Médiathèque des 7 Lieux", "settings": {"institution": "BAY", "password": "nouveau-secret"}})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["name"] == "Médiathèque des 7 Lieux" and r.get_json()["settings"]["institution"] == "BAY"
    assert "nouveau-secret" not in r.get_data(as_text=True)
    event = [e for e in audit_rows(api_app) if e[1] == "library.edit" and e[2] == BAYEUX]
    assert len(event) == 1 and event[0][0] == ADMIN[0]
    runtime = api_app.extensions["broker"]
    from sqlalchemy import select

    from broker.db.models import AuditEvent

    with runtime.db.session() as s:
        detail = s.scalars(select(AuditEvent).where(AuditEvent.action == "library.edit")).one().detail
    assert detail["before"]["name"] == "Médiathèque Les 7 Lieux"
    assert detail["after"]["settings"]["password"] == "***" and detail["after"]["settings"]["institution"] == "BAY"
    assert "nouveau-secret" not in str(detail)
    r = api("PATCH", "/libraries/{code}", token=token, code=BAYEUX, json={"enabled": False})
    assert r.status_code == 200 and r.get_json()["enabled"] is False
    assert ("library.disable", BAYEUX) in {(e[1], e[2]) for e in audit_rows(api_app)}
    assert api("GET", "/libraries/{code}", token=token, code=BAYEUX).get_json()["enabled"] is False
    r = api("POST", "/libraries", token=token, json={"code": "FR-API-1", "name": "Bibliothèque de l'API",
                                                     "partner": "lisieux", "connector": "local"})
    assert r.status_code == 201 and r.get_json()["partner"] == "lisieux"
    r = api("PATCH", "/libraries/{code}", token=token, code="FR-API-1", json={"partner": "bayeux-intercom"})
    assert r.status_code == 200 and r.get_json()["partner"] == "bayeux-intercom"


def test_test_a_card_without_storing_it(api, token_for, api_app):
    from sqlalchemy import func, select

    from broker.db.models import AuditEvent, Patron

    runtime = api_app.extensions["broker"]
    with runtime.db.session() as s:
        patrons = s.scalar(select(func.count(Patron.id)))
    token = token_for(ADMIN[0])
    ok = api("POST", "/libraries/{code}/check", token=token, code=BAYEUX,
             json={"card": "29001000000017", "password": "1234"}).get_json()
    assert ok["ok"] is True and "29001000000017" not in str(ok)
    refused = api("POST", "/libraries/{code}/check", token=token, code=BAYEUX,
                  json={"card": "29001000000017", "password": "0000"}).get_json()
    assert refused["ok"] is False and refused["reason"] == "credentials"
    unknown = api("POST", "/libraries/{code}/check", token=token, code=BAYEUX, json={"card": "99999999"}).get_json()
    assert unknown["ok"] is False and unknown["reason"] == "unknown"
    api("PATCH", "/libraries/{code}", token=token, code=BAYEUX, json={"settings": {"port": 1}})
    down = api("POST", "/libraries/{code}/check", token=token, code=BAYEUX, json={"card": "29001000000017"}).get_json()
    assert down["ok"] is False and down["reason"] == "unavailable"
    with runtime.db.session() as s:
        text = " ".join(str(e.detail) + e.target for e in s.scalars(select(AuditEvent)))
        assert "29001000000017" not in text
        assert s.scalar(select(func.count(Patron.id))) == patrons  # the card is not stored


@pytest.mark.parametrize("method, template, body, field", [
    ("PATCH", "/libraries/{code}", {"settings": {"port": "abc"}}, "settings.port"),
    ("PATCH", "/libraries/{code}", {"colour": "red"}, "colour"),
    ("PATCH", "/libraries/{code}", {"enabled": "no"}, "enabled"),
    ("PATCH", "/libraries/{code}", {"partner": "caen-la-mer"}, "partner"),
    ("PATCH", "/libraries/{code}", {"name": "", "commune": "X"}, "name"),
    ("PATCH", "/libraries/{code}", {"registration": "sometimes"}, "registration"),
    ("POST", "/libraries", {"code": BAYEUX, "name": "X", "partner": "lisieux", "connector": "local"}, "code"),
    ("POST", "/libraries", {"code": "FR-NEW", "name": "X", "partner": "lisieux", "connector": "sip2",
                            "settings": {"host": "h", "port": "abc", "login": "u", "password": "p", "institution": "i"}}, "settings.port"),
])
def test_bad_input_answers_400_with_the_field_and_writes_nothing(api, token_for, api_app, method, template, body,
                                                                 field):
    token = token_for(ADMIN[0])
    before = api("GET", "/libraries/{code}", token=token, code=BAYEUX).get_json()
    r = api(method, template, token=token, json=body, code=BAYEUX)
    assert r.status_code == 400 and r.get_json()["field"] == field, r.get_json()
    assert api("GET", "/libraries/{code}", token=token, code=BAYEUX).get_json() == before
    assert api("GET", "/libraries/{code}", token=token, code="FR-NEW").status_code == 404
    assert [e for e in audit_rows(api_app) if e[0] == ADMIN[0] and e[1].startswith("library.")] == []


def test_referents_and_other_networks_get_403_audited_as_denied(api, token_for, api_app):
    referent, other = token_for(REFERENT[0]), token_for(CAEN_ADMIN[0])
    calls = [("GET", "/libraries/{code}", None), ("PATCH", "/libraries/{code}", {"enabled": False}),
             ("POST", "/libraries/{code}/check", {"card": "29001000000017"})]
    for token, who in ((referent, REFERENT[0]), (other, CAEN_ADMIN[0])):
        for method, template, body in calls:
            assert api(method, template, token=token, json=body, code=BAYEUX).status_code == 403, (who, template)
    r = api("POST", "/libraries", token=other, json={"code": "FR-X", "name": "X", "partner": "lisieux",
                                                     "connector": "local"})
    assert r.status_code == 400 and r.get_json()["field"] == "partner"
    denied = {(e[0], e[1]) for e in audit_rows(api_app, outcome="denied")}
    assert {(REFERENT[0], a) for a in ("library.view", "library.edit", "library.check")} <= denied
    assert {(CAEN_ADMIN[0], a) for a in ("library.view", "library.edit", "library.check")} <= denied
    assert api("GET", "/libraries/{code}", token=token_for(ADMIN[0]), code=VIRE_LIB).get_json()["enabled"] is True
