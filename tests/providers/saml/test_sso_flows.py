"""End-to-end SSO with python3-saml as the supplier's SP (strict mode: it checks signature,
audience, destination, recipient, InResponseTo and validity itself)."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlencode, urlsplit

from lxml import etree
from sqlalchemy import select

NS = {"saml": "urn:oasis:names:tc:SAML:2.0:assertion", "samlp": "urn:oasis:names:tc:SAML:2.0:protocol"}
PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
TRANSIENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"


def status_of(fields) -> list[str]:
    root = etree.fromstring(base64.b64decode(fields["SAMLResponse"]))
    return [c.get("Value") for c in root.iterfind(".//samlp:StatusCode", NS)]


def _sp_initiated_login(idp, sp, flows, **login):
    """A new browser goes from ``sp``'s login URL to the portal and logs in (``login``: card, pin…); the last answer."""
    client = idp.test_client()
    url, _ = sp.login_url()
    return flows.follow_login(client, client.get(flows.path_of(url)), **login)


def test_sp_initiated_redirect_logs_an_active_patron_in(idp, make_sp, flows):
    sp = make_sp("cafeyn")
    client = idp.test_client()
    auth, fields = flows.sso(client, sp, relay="https://cafeyn.example.org/kiosque/le-monde")
    assert auth.get_errors() == [], auth.get_last_error_reason()
    assert auth.is_authenticated()
    assert fields["RelayState"] == "https://cafeyn.example.org/kiosque/le-monde"
    assert auth.get_nameid_format() == PERSISTENT
    assert auth.get_nameid_spnq() == sp.entity_id
    assert auth.get_session_index()
    assert auth.get_last_authn_contexts() == ["urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"]
    attrs = auth.get_friendlyname_attributes()
    assert attrs["eduPersonEntitlement"] == ["urn:mace:dir:entitlement:common-lib-terms"]
    assert attrs["eduPersonScopedAffiliation"] == ["member@calvados.sesame.example.org"]
    assert attrs["pairwise-id"] == [f"{auth.get_nameid()}@calvados.sesame.example.org"]
    by_name = auth.get_attributes()
    assert by_name["urn:oid:1.3.6.1.4.1.5923.1.1.1.7"] == ["urn:mace:dir:entitlement:common-lib-terms"]
    assert by_name["urn:oid:1.3.6.1.4.1.5923.1.1.1.9"] == ["member@calvados.sesame.example.org"]
    assert by_name["urn:oasis:names:tc:SAML:attribute:pairwise-id"] == attrs["pairwise-id"]
    # the default release policy: library code and network, nothing personal
    assert by_name["urn:oid:1.3.6.1.4.1.25178.1.2.9"] == ["FR-147626101"]
    assert by_name["urn:sesame:attribute:network"] == ["calvados"]
    assert "urn:oid:2.16.840.1.113730.3.1.241" not in by_name and "urn:oid:0.9.2342.19200300.100.1.3" not in by_name


def test_sp_initiated_post_binding_with_a_signed_request(idp, make_sp, flows):
    sp = make_sp("skilleos", sign_requests=True)
    client = idp.test_client()
    flows.portal_login(client)
    form, request_id = sp.authn_request_post()
    form["RelayState"] = "cours/anglais"
    action, fields = flows.form_of(client.post("/saml/sso", data=form))
    assert action == sp.acs and fields["RelayState"] == "cours/anglais"
    auth = sp.accept(fields, request_id)
    assert auth.get_errors() == [], auth.get_last_error_reason()
    assert auth.get_last_response_in_response_to() == request_id


def test_single_sign_on_to_a_second_supplier_needs_no_login_and_gets_another_name_id(idp, make_sp, flows):
    first, second = make_sp("cafeyn"), make_sp("vodeclic")
    client = idp.test_client()
    auth1, _ = flows.sso(client, first)
    url, request_id = second.login_url()
    response = client.get(flows.path_of(url))
    assert response.status_code == 200  # the form straight away: no login page
    auth2 = second.accept(flows.form_of(response)[1], request_id)
    assert auth2.get_errors() == []
    assert auth1.get_nameid() != auth2.get_nameid()
    assert auth1.get_friendlyname_attributes()["pairwise-id"] != auth2.get_friendlyname_attributes()["pairwise-id"]


def test_the_same_patron_gets_the_same_name_id_at_the_next_login(idp, make_sp, flows):
    sp = make_sp("cafeyn")
    first, _ = flows.sso(idp.test_client(), sp)
    again, _ = flows.sso(idp.test_client(), sp)  # another browser: a new login
    assert first.get_nameid() == again.get_nameid()


def test_idp_initiated_sso_with_target(idp, make_sp, flows):
    sp = make_sp("philharmonie")
    client = idp.test_client()
    query = urlencode({"providerId": sp.entity_id, "target": "https://philharmonie.example.org/concert/42"})
    response = client.get(f"/saml/unsolicited?{query}")
    response = flows.follow_login(client, response)
    action, fields = flows.form_of(response)
    assert action == sp.acs
    assert fields["RelayState"] == "https://philharmonie.example.org/concert/42"
    auth = sp.accept(fields, None)
    assert auth.get_errors() == [], auth.get_last_error_reason()
    root = etree.fromstring(base64.b64decode(fields["SAMLResponse"]))
    assert root.get("InResponseTo") is None


def test_go_deep_link_uses_unsolicited_sso(idp, make_sp, flows):
    sp = make_sp("philharmonie")
    client = idp.test_client()
    flows.portal_login(client)
    response = client.get("/go/philharmonie?target=https%3A%2F%2Fphilharmonie.example.org%2Fconcert%2F7")
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/saml/unsolicited"
    assert parse_qs(location.query) == {"providerId": [sp.entity_id],
                                        "target": ["https://philharmonie.example.org/concert/7"]}
    action, fields = flows.form_of(client.get(flows.path_of(response.headers["Location"])))
    assert sp.accept(fields, None).get_errors() == []


def test_go_drops_a_target_too_long_for_relay_state(idp, make_sp, flows):
    """/go accepts deep links up to 2000 characters; RelayState holds 1024: the patron still gets in."""
    sp = make_sp("philharmonie")
    client = idp.test_client()
    flows.portal_login(client)
    target = "https://philharmonie.example.org/concert/" + "7" * 1500
    response = client.get("/go/philharmonie?" + urlencode({"target": target}))
    assert response.status_code == 302
    assert parse_qs(urlsplit(response.headers["Location"]).query) == {"providerId": [sp.entity_id]}
    action, fields = flows.form_of(client.get(flows.path_of(response.headers["Location"])))
    assert sp.accept(fields, None).get_errors() == []


def test_release_policy_decides_the_personal_attributes(idp, make_sp, flows):
    sp = make_sp("cafeyn", release="display_name,email,birth_year,age_bracket")
    auth, _ = flows.sso(idp.test_client(), sp)
    by_name = auth.get_attributes()
    assert by_name["urn:oid:2.16.840.1.113730.3.1.241"] == ["Sarah Fontaine"]
    assert by_name["urn:oid:0.9.2342.19200300.100.1.3"] == ["sarah.fontaine@example.org"]
    assert by_name["urn:oid:1.3.6.1.4.1.25178.1.2.3"] == ["1987"]
    assert by_name["urn:sesame:attribute:age-bracket"] == ["26-64"]
    assert "urn:oid:1.3.6.1.4.1.25178.1.2.9" not in by_name  # library not in this policy
    assert auth.get_friendlyname_attributes()["displayName"] == ["Sarah Fontaine"]


def test_encrypted_assertions_are_read_by_the_supplier_only(idp, make_sp, flows):
    sp = make_sp("mediatheque", encrypt=True)
    auth, fields = flows.sso(idp.test_client(), sp)
    assert auth.get_errors() == [], auth.get_last_error_reason()
    raw = base64.b64decode(fields["SAMLResponse"])
    root = etree.fromstring(raw)
    assert root.find("saml:EncryptedAssertion", NS) is not None and root.find("saml:Assertion", NS) is None
    method = root.find(".//{http://www.w3.org/2001/04/xmlenc#}EncryptionMethod")
    assert method.get("Algorithm") == "http://www.w3.org/2009/xmlenc11#aes256-gcm"
    assert b"Fontaine" not in raw and b"calvados" not in raw
    assert auth.get_friendlyname_attributes()["eduPersonEntitlement"]


def test_signed_assertions_when_the_metadata_wants_them(idp, make_sp, flows):
    sp = make_sp("digame", want_assertions_signed=True, sign="assertion")
    auth, fields = flows.sso(idp.test_client(), sp)
    assert auth.get_errors() == [], auth.get_last_error_reason()
    root = etree.fromstring(base64.b64decode(fields["SAMLResponse"]))
    ds = "{http://www.w3.org/2000/09/xmldsig#}Signature"
    assert root.find(f"saml:Assertion/{ds}", NS) is not None
    assert root.find(ds) is None  # sign=assertion: only the assertion


def test_transient_name_ids_change_between_sessions(idp, make_sp, flows):
    sp = make_sp("skilleos", nameid="transient")
    sp.settings["sp"]["NameIDFormat"] = TRANSIENT
    a, _ = flows.sso(idp.test_client(), sp)
    b, _ = flows.sso(idp.test_client(), sp)
    assert a.get_nameid_format() == TRANSIENT and a.get_errors() == []
    assert a.get_nameid() != b.get_nameid()


def test_a_pending_patron_gets_no_assertion(idp, make_sp, flows):
    from broker.services import memberships

    runtime = idp.extensions["broker"]
    with runtime.db.session() as s:
        memberships.import_rows(runtime, s, flows.VIRE, [memberships.ImportRow(2, "V0002", None, "pending")])
    response = _sp_initiated_login(idp, make_sp("cafeyn"), flows, card="V0002")
    assert response.status_code == 403
    assert b"SAMLResponse" not in response.data
    assert "inscription" in response.text.lower()
    assert _usage(runtime)[-1] == ("saml", "membership_pending")


def test_a_wrong_password_gets_no_assertion(idp, make_sp, flows):
    response = _sp_initiated_login(idp, make_sp("cafeyn"), flows, pin="0000")
    assert response.status_code == 400
    assert b"SAMLResponse" not in response.data
    assert _usage(idp.extensions["broker"]) == []


def test_a_supplier_outside_the_patrons_network_is_refused(idp, make_sp, flows):
    make_sp("caen-only", networks=("caen-la-mer",))
    response = _sp_initiated_login(idp, make_sp("caen-only", register=False), flows)
    assert response.status_code == 403 and b"SAMLResponse" not in response.data
    assert _usage(idp.extensions["broker"])[-1] == ("saml", "not_in_bundle")


def test_usage_events_record_every_issuance(idp, make_sp, flows):
    sp = make_sp("cafeyn")
    flows.sso(idp.test_client(), sp)
    runtime = idp.extensions["broker"]
    from broker.db.models import UsageEvent

    with runtime.db.session() as s:
        event = s.scalars(select(UsageEvent)).one()
        assert (event.protocol, event.outcome) == ("saml", "granted")
        assert event.patron_key and event.supplier_id and event.library_id and event.network_id


def test_the_card_number_appears_nowhere_suppliers_look(idp, make_sp, flows):
    sp = make_sp("cafeyn", release="library,network,birth_year,age_bracket,display_name,email")
    client = idp.test_client()
    url, request_id = sp.login_url(relay="https://cafeyn.example.org/")
    first = client.get(flows.path_of(url))
    response = flows.follow_login(client, first)
    everything = response.data + base64.b64decode(flows.form_of(response)[1]["SAMLResponse"])
    auth = sp.accept(flows.form_of(response)[1], request_id)
    everything += repr(auth.get_attributes()).encode() + auth.get_nameid().encode()
    everything += client.get("/saml/metadata").data
    assert b"V0001" not in everything and b"v0001" not in everything.lower()


def test_force_authn_makes_the_patron_log_in_again(idp, make_sp, flows):
    sp = make_sp("cafeyn")
    client = idp.test_client()
    flows.sso(client, sp)
    url, request_id = sp.login_url(force_authn=True)
    response = client.get(flows.path_of(url))
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login" and parse_qs(location.query)["renew"] == ["1"]
    response = flows.follow_login(client, response)
    assert sp.accept(flows.form_of(response)[1], request_id).get_errors() == []


def test_back_from_the_login_page_without_logging_in_again_keeps_the_forced_request(idp, make_sp, flows):
    sp = make_sp("cafeyn")
    client = idp.test_client()
    flows.sso(client, sp)  # a session, older than the request below
    url, request_id = sp.login_url(force_authn=True)
    to_login = client.get(flows.path_of(url))
    resume = parse_qs(urlsplit(to_login.headers["Location"]).query)["next"][0]
    again = client.get(resume)  # the old session does not satisfy ForceAuthn: the login page again
    assert again.status_code == 302 and urlsplit(again.headers["Location"]).path == "/login"
    response = flows.follow_login(client, again)  # the request waited: answered after the login
    assert sp.accept(flows.form_of(response)[1], request_id).get_errors() == []
    replay = client.get(resume)  # and answered once only
    assert b"SAMLResponse" not in replay.data and replay.status_code in (400, 404, 410)


def test_is_passive_without_a_session_answers_no_passive_without_a_page(idp, make_sp, flows):
    sp = make_sp("cafeyn")
    url, request_id = sp.login_url(is_passive=True)
    action, fields = flows.form_of(idp.test_client().get(flows.path_of(url)))
    assert action == sp.acs
    assert status_of(fields) == ["urn:oasis:names:tc:SAML:2.0:status:Responder",
                                 "urn:oasis:names:tc:SAML:2.0:status:NoPassive"]
    auth = sp.accept(fields, request_id)
    assert not auth.is_authenticated()


def test_is_passive_refusal_is_a_saml_status(idp, make_sp, flows):
    make_sp("caen-only", networks=("caen-la-mer",))
    sp = make_sp("caen-only", register=False)
    client = idp.test_client()
    flows.portal_login(client)
    url, _ = sp.login_url(is_passive=True)
    action, fields = flows.form_of(client.get(flows.path_of(url)))
    assert status_of(fields)[-1] == "urn:oasis:names:tc:SAML:2.0:status:RequestDenied"


def test_an_unsupported_name_id_policy_is_answered_with_a_status(idp, make_sp, flows):
    sp = make_sp("cafeyn")
    sp.settings["sp"]["NameIDFormat"] = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
    url, _ = sp.login_url()
    _, fields = flows.form_of(idp.test_client().get(flows.path_of(url)))
    assert status_of(fields)[-1] == "urn:oasis:names:tc:SAML:2.0:status:InvalidNameIDPolicy"


def test_a_pending_request_is_continued_by_another_node(idp, make_app, make_sp, flows, redis_url, tmp_path):
    """Two app nodes share the database and Redis: node A takes the request, node B finishes it."""
    import shutil

    db = tmp_path / "shared.db"
    shutil.copy(idp.extensions["broker"].settings.effective_database_url.removeprefix("sqlite:///"), db)
    node_a = make_app(database_url=f"sqlite:///{db}", redis_url=redis_url,
                      secret_key=idp.extensions["broker"].settings.secret_key)
    node_b = make_app(database_url=f"sqlite:///{db}", redis_url=redis_url,
                      secret_key=idp.extensions["broker"].settings.secret_key)
    sp = make_sp("cafeyn", register=False)
    from broker.providers.saml import registry

    runtime = node_a.extensions["broker"]
    with runtime.db.session() as s:
        registry.add_saml(runtime, s, "cafeyn", metadata_xml=sp.metadata(), networks=["calvados"])
    url, request_id = sp.login_url(relay="r-42")
    to_login = node_a.test_client().get(flows.path_of(url))
    assert to_login.status_code == 302
    response = flows.follow_login(node_b.test_client(), to_login)
    action, fields = flows.form_of(response)
    assert fields["RelayState"] == "r-42"
    assert sp.accept(fields, request_id).get_errors() == []


def _usage(runtime) -> list[tuple[str, str]]:
    from broker.db.models import UsageEvent

    with runtime.db.session() as s:
        return [(e.protocol, e.outcome) for e in s.scalars(select(UsageEvent).order_by(UsageEvent.id))]


def test_a_response_for_one_supplier_is_useless_to_another(idp, make_sp, flows):
    first, second = make_sp("cafeyn"), make_sp("vodeclic")
    client = idp.test_client()
    auth, fields = flows.sso(client, first)
    assert auth.get_errors() == []
    stolen = second.accept(fields, None)
    assert not stolen.is_authenticated()
    assert "received at https://vodeclic.example.org" in stolen.get_last_error_reason()
    # even received at the URL it was sent to, the audience is not the second supplier
    from onelogin.saml2.auth import OneLogin_Saml2_Auth

    second.settings["sp"]["assertionConsumerService"]["url"] = first.acs
    at_first_url = OneLogin_Saml2_Auth({"https": "on", "http_host": "cafeyn.example.org",
                                        "script_name": urlsplit(first.acs).path, "post_data": fields},
                                       second.settings)
    at_first_url.process_response()
    assert "audience" in at_first_url.get_last_error_reason().lower()
