"""Libraries pages: admins of the library's network only, settings from the connector's model, audited."""

from __future__ import annotations

from fixtures.staff import ADMIN, BAYEUX, CAEN_ADMIN, REFERENT, VIRE_LIB, as_staff, audit_rows, post


def _lib(app, code):
    from broker.services import libraries

    with app.extensions["broker"].db.session() as s:
        lib = libraries.get_library(s, code)
        return {"name": lib.name, "partner": lib.partner.slug, "enabled": lib.enabled,
                "settings": dict(lib.connector_settings), "secrets": lib.connector_secrets}


def test_admin_lists_edits_disables_and_moves_a_library(staff_app):
    client = as_staff(staff_app, staff_app.test_client(), ADMIN)
    page = client.get("/staff/libraries").get_data(as_text=True)
    assert "Médiathèque Les 7 Lieux" in page and "Médiathèque de Vire" in page
    page = client.get(f"/staff/libraries/{BAYEUX}/edit").get_data(as_text=True)
    # the form comes from the SIP2 settings model: its fields, its choices, its secrets write-only
    assert 'name="setting.host"' in page and 'name="setting.institution"' in page
    assert '<option value="cp850"' in page and 'name="setting.tls"' in page
    assert 'type="password" id="s-password" name="setting.password" value=""' in page and "Défini" in page
    secret_before = _lib(staff_app, BAYEUX)["secrets"]
    form = {"name": "Médiathèque des 7 Lieux", "commune": "Bayeux", "partner": "bayeux-intercom",
            "registration": "referent", "setting.institution": "BAY", "setting.password": ""}
    r = post(client, f"/staff/libraries/{BAYEUX}/edit", form, page=f"/staff/libraries/{BAYEUX}/edit")
    assert r.status_code == 303, r.get_data(as_text=True)[:2000]
    after = _lib(staff_app, BAYEUX)
    assert after["name"] == "Médiathèque des 7 Lieux" and after["settings"]["institution"] == "BAY"
    assert after["secrets"] == secret_before  # a secret left blank keeps its value
    edit = audit_rows(staff_app, action="library.edit")[-1]
    assert edit[0] == ADMIN[0] and edit[2] == BAYEUX
    assert edit[4]["before"]["name"] == "Médiathèque Les 7 Lieux" and edit[4]["after"]["settings"] == {"institution": "BAY"}
    r = post(client, f"/staff/libraries/{BAYEUX}/edit", {**form, "partner": "lisieux"}, page=f"/staff/libraries/{BAYEUX}/edit")
    assert r.status_code == 303 and _lib(staff_app, BAYEUX)["partner"] == "lisieux"
    r = post(client, f"/staff/libraries/{BAYEUX}/enabled", {"enabled": "0"}, page=f"/staff/libraries/{BAYEUX}/edit")
    assert r.status_code == 303 and _lib(staff_app, BAYEUX)["enabled"] is False
    assert "Désactivée" in client.get("/staff/libraries").get_data(as_text=True)
    assert audit_rows(staff_app, action="library.disable")[-1][4] == {"before": {"enabled": True},
                                                                      "after": {"enabled": False}}
    r = post(client, f"/staff/libraries/{BAYEUX}/enabled", {"enabled": "1"}, page=f"/staff/libraries/{BAYEUX}/edit")
    assert _lib(staff_app, BAYEUX)["enabled"] is True


def test_add_a_library_with_its_connector_settings(staff_app):
    client = as_staff(staff_app, staff_app.test_client(), ADMIN)
    r = post(client, "/staff/libraries/new", {"connector": "sip2", "show": "1", "code": "FR-NEW"},
             page="/staff/libraries/new")
    assert r.status_code == 200 and 'name="setting.host"' in r.get_data(as_text=True)
    assert 'value="FR-NEW"' in r.get_data(as_text=True)
    r = post(client, "/staff/libraries/new", {"code": "FR-NEW", "name": "Nouvelle", "partner": "lisieux",
                                              "connector": "sip2", "registration": "auto", "setting.host": "localhost",
                                              "setting.port": "abc", "setting.login": "u", "setting.password": "p",
                                              "setting.institution": "I"}, page="/staff/libraries/new")
    page = r.get_data(as_text=True)
    assert r.status_code == 400 and 'id="s-port-error"' in page and "port" in page
    r = post(client, "/staff/libraries/new", {"code": "FR-NEW", "name": "Nouvelle", "partner": "lisieux",
                                              "connector": "sip2", "registration": "auto", "setting.host": "localhost",
                                              "setting.port": "6001", "setting.login": "u", "setting.password": "p",
                                              "setting.institution": "I"}, page="/staff/libraries/new")
    assert r.status_code == 303, r.get_data(as_text=True)[:3000]
    assert _lib(staff_app, "FR-NEW")["settings"]["port"] == 6001
    r = post(client, "/staff/libraries/new", {"code": "FR-NEW", "name": "Encore", "partner": "lisieux",
                                              "connector": "local"}, page="/staff/libraries/new")
    assert r.status_code == 400 and 'id="code-error"' in r.get_data(as_text=True)


def test_bad_input_is_shown_beside_the_field_and_nothing_is_written(staff_app):
    client = as_staff(staff_app, staff_app.test_client(), ADMIN)
    before = _lib(staff_app, BAYEUX)
    base = {"name": "X", "partner": "bayeux-intercom", "registration": "referent"}
    for data, error_id in (({**base, "setting.port": "abc"}, "s-port-error"), ({**base, "name": ""}, "name-error"),
                           ({**base, "partner": "caen-la-mer"}, "partner-error"),
                           ({**base, "contact_email": "pas-un-mail"}, "contact_email-error")):
        r = post(client, f"/staff/libraries/{BAYEUX}/edit", data, page=f"/staff/libraries/{BAYEUX}/edit")
        page = r.get_data(as_text=True)
        assert r.status_code == 400 and f'id="{error_id}"' in page and 'aria-invalid="true"' in page, (data, error_id)
    assert _lib(staff_app, BAYEUX) == before
    assert [e for e in audit_rows(staff_app) if e[1].startswith("library.") and e[0] == ADMIN[0]] == []


def test_test_a_card_shows_the_answer_and_stores_nothing(staff_app):
    client = as_staff(staff_app, staff_app.test_client(), ADMIN)
    for data, reason in (({"card": "29001000000017", "password": "1234"}, "ok"),
                         ({"card": "29001000000017", "password": "0000"}, "credentials"),
                         ({"card": "99999999"}, "unknown")):
        r = post(client, f"/staff/libraries/{BAYEUX}/check", data, page=f"/staff/libraries/{BAYEUX}/edit")
        page = r.get_data(as_text=True)
        assert r.status_code == 200 and f'data-reason="{reason}"' in page, (reason, page[:3000])
        assert "29001000000017" not in page
    events = audit_rows(staff_app, action="library.check")
    assert [e[4]["reason"] for e in events] == [None, "credentials", "unknown"]
    assert "29001000000017" not in str(audit_rows(staff_app))


def test_referents_and_admins_of_other_networks_get_403(staff_app):
    for account in (REFERENT, CAEN_ADMIN):
        client = as_staff(staff_app, staff_app.test_client(), account)
        if account is REFERENT:
            assert client.get("/staff/libraries").status_code == 403
            assert client.get("/staff/libraries/new").status_code == 403
        assert client.get(f"/staff/libraries/{BAYEUX}/edit").status_code == 403
        assert post(client, f"/staff/libraries/{BAYEUX}/edit", {"name": "Pris"}).status_code == 403
        assert post(client, f"/staff/libraries/{BAYEUX}/enabled", {"enabled": "0"}).status_code == 403
        assert post(client, f"/staff/libraries/{BAYEUX}/check", {"card": "29001000000017"}).status_code == 403
    caen = as_staff(staff_app, staff_app.test_client(), CAEN_ADMIN).get("/staff/libraries").get_data(as_text=True)
    assert "Médiathèque Les 7 Lieux" not in caen
    assert _lib(staff_app, BAYEUX)["enabled"] is True and _lib(staff_app, VIRE_LIB)["enabled"] is True
    denied = {(e[0], e[1]) for e in audit_rows(staff_app, outcome="denied")}
    assert {(REFERENT[0], a) for a in ("library.list", "library.view", "library.edit", "library.check")} <= denied
    assert {(CAEN_ADMIN[0], a) for a in ("library.view", "library.edit", "library.check")} <= denied
