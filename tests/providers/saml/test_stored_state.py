"""What SAML keeps in the state store and the session, and what a damaged value does: never an error.

A pending request that cannot be read is an expired request; a logout round
that cannot be read is over; a session entry that cannot be read is as if the
supplier had not been visited.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from broker.providers.saml import session_entries
from broker.providers.saml.logout_rounds import LogoutRound
from broker.providers.saml.pending_requests import PendingRequest
from broker.providers.saml.session_entries import SessionEntry

EXPIRED = "Demande de connexion expirée"
DAMAGED_REQUESTS = {
    "text": lambda p: "garbage",
    "list": lambda p: [p],
    "empty": lambda p: {},
    "supplier_text": lambda p: {**p, "sp": str(p["sp"])},
    "no_acs": lambda p: {k: v for k, v in p.items() if k != "acs"},
    "force_text": lambda p: {**p, "force": "yes"},
    "time_text": lambda p: {**p, "at": "yesterday"},
    "carried_without_uid": lambda p: {**p, "keep": {"saml": {}}},
}


def _state(idp):
    return idp.extensions["broker"].state


def _session(idp, client) -> tuple[str, dict]:
    sid = client.get_cookie("sesame").value
    return f"sess:{sid}", _state(idp).get(f"sess:{sid}")


def _supplier_id(idp, sp) -> int:
    from broker.providers.saml.sso import suppliers_view

    with idp.app_context():
        return suppliers_view(idp.extensions["broker"]).by_entity[sp.entity_id].id


def _pending_key(response) -> str:
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/login"
    resume = parse_qs(urlsplit(response.headers["Location"]).query)["next"][0]
    return parse_qs(urlsplit(resume).query)["k"][0]


def test_a_pending_request_is_stored_in_its_short_form(idp, make_sp, flows):
    sp = make_sp("cafeyn")
    url, request_id = sp.login_url("kiosque")
    key = _pending_key(idp.test_client().get(flows.path_of(url)))
    stored = _state(idp).get(f"saml:pending:{key}")
    assert list(stored) == ["sp", "entity", "id", "acs", "relay", "force", "passive", "fmt", "at"]
    pending = PendingRequest.from_wire(stored)
    assert (pending.entity_id, pending.request_id, pending.acs_url, pending.relay_state) == \
        (sp.entity_id, request_id, sp.acs, "kiosque")


@pytest.mark.parametrize("damage", list(DAMAGED_REQUESTS.values()), ids=list(DAMAGED_REQUESTS))
def test_a_damaged_pending_request_is_an_expired_request(idp, make_sp, flows, damage):
    sp = make_sp("cafeyn")
    client = idp.test_client()
    url, _ = sp.login_url()
    to_login = client.get(flows.path_of(url))
    key = _pending_key(to_login)
    _state(idp).put(f"saml:pending:{key}", damage(_state(idp).get(f"saml:pending:{key}")), 600)
    anonymous = idp.test_client().get(f"/saml/resume?k={key}")
    assert anonymous.status_code == 400 and EXPIRED in anonymous.text
    back = flows.follow_login(client, to_login)  # logged in, back from the login page
    assert back.status_code == 400 and EXPIRED in back.text and "SAMLResponse" not in back.text


def test_the_session_keeps_each_suppliers_entry_in_its_short_form(idp, make_sp, flows):
    sp = make_sp("cafeyn")
    client = idp.test_client()
    auth, _ = flows.sso(client, sp)
    _key, data = _session(idp, client)
    [(supplier_id, stored)] = data["saml"].items()  # keyed by supplier id: no entity ID in the session
    assert supplier_id == str(_supplier_id(idp, sp))
    assert list(stored) == ["n", "s"]  # the persistent format is implied, the id is the key
    entry = session_entries.read_session(data["saml"], {int(supplier_id): sp.entity_id}.get)[sp.entity_id]
    assert (entry.name_id, entry.session_index) == (auth.get_nameid(), auth.get_session_index())
    assert entry.name_format == "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"


def test_a_session_keyed_by_entity_id_as_written_before_still_reads(idp, make_sp, flows):
    sp = make_sp("cafeyn")
    client = idp.test_client()
    first, _ = flows.sso(client, sp)
    key, data = _session(idp, client)
    [(supplier_id, stored)] = data["saml"].items()
    _state(idp).put(key, {**data, "saml": {sp.entity_id: {**stored, "id": int(supplier_id)}}}, 600)
    again, _ = flows.sso(client, sp)  # the same session index, read from the earlier form
    assert again.get_session_index() == first.get_session_index()


def test_a_session_entry_in_the_earlier_form_still_reads():
    transient = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
    earlier = SessionEntry.from_wire({"n": "_ab", "f": transient, "s": "_0123456789abcdef01234567", "id": 4})
    assert earlier == SessionEntry("_ab", transient, "_0123456789abcdef01234567", 4)
    assert earlier.to_wire()["f"] == transient  # any other format is still written out


@pytest.mark.parametrize("damaged", ["garbage", {"n": 5}, {"n": "x", "f": "y", "s": "z", "id": "4"}, []],
                         ids=["text", "wrong_name_id", "supplier_text", "list"])
def test_a_damaged_session_entry_is_as_if_the_supplier_was_not_visited(idp, make_sp, flows, damaged):
    sp = make_sp("cafeyn")
    client = idp.test_client()
    flows.sso(client, sp)
    key, data = _session(idp, client)
    supplier_id = str(_supplier_id(idp, sp))
    _state(idp).put(key, {**data, "saml": {sp.entity_id: damaged, "https://unknown.example.org": damaged,
                                           supplier_id: damaged, "999999": {"n": "x", "s": "y"}}}, 600)
    auth, _ = flows.sso(client, sp)  # signed on again, no login needed
    assert auth.get_errors() == [] and auth.is_authenticated()
    _key, data = _session(idp, client)
    assert list(data["saml"]) == [supplier_id]  # the unknown supplier's entry is gone too
    assert data["saml"][supplier_id]["s"] == auth.get_session_index()
    page = client.get("/logout")  # the portal's logout still ends the session
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302


def _round_key(idp, make_sp, flows):
    client = idp.test_client()
    flows.sso(client, make_sp("cafeyn"))
    page = client.get("/logout")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    response = client.post("/logout", data={"csrf_token": token})
    path = urlsplit(response.headers["Location"]).path
    assert path.startswith("/saml/logout/")
    return client, path.rsplit("/", 1)[1]


def test_a_logout_round_is_stored_in_its_short_form(idp, make_sp, flows):
    _client, key = _round_key(idp, make_sp, flows)
    stored = _state(idp).get(f"saml:slo:{key}")
    assert list(stored) == ["queue", "origin", "final", "partial", "waiting"]
    assert list(stored["queue"][0]) == ["entity", "n", "s", "id"]  # the persistent format is implied
    assert LogoutRound.from_wire(stored).to_wire() == stored


@pytest.mark.parametrize("damaged", ["garbage", {}, {"queue": "x", "partial": False},
                                     {"queue": [{"entity": "x"}], "partial": False},
                                     {"queue": [], "origin": {"entity": 1}, "partial": False}],
                         ids=["text", "empty", "queue_text", "queue_damaged", "origin_damaged"])
def test_a_damaged_logout_round_is_over(idp, make_sp, flows, damaged):
    client, key = _round_key(idp, make_sp, flows)
    _state(idp).put(f"saml:slo:{key}", damaged, 600)
    step = client.get(f"/saml/logout/{key}")
    assert step.status_code == 302 and "/saml/" not in step.headers["Location"]  # home: the round is over


def test_a_supplier_answering_a_damaged_round_sees_the_logged_out_page(idp, make_sp, flows):
    first, second = make_sp("cafeyn", want_messages_signed=True), make_sp("vodeclic", want_messages_signed=True)
    client = idp.test_client()
    auth1, _ = flows.sso(client, first)
    flows.sso(client, second)
    sp_auth = first.auth(path="/logout")
    url = sp_auth.logout(name_id=auth1.get_nameid(), session_index=auth1.get_session_index(),
                         name_id_format=auth1.get_nameid_format(), spnq=auth1.get_nameid_spnq())
    to_second = client.get(flows.path_of(url))  # the round goes on at the other supplier
    assert to_second.status_code == 302 and to_second.headers["Location"].startswith(second.slo_url)
    query = urlsplit(to_second.headers["Location"]).query
    key = parse_qs(query)["RelayState"][0]
    _state(idp).put(f"saml:slo:{key}", {"queue": [{"entity": second.entity_id}]}, 600)
    answer = second.auth(path=urlsplit(second.slo_url).path, get={k: v[0] for k, v in parse_qs(query).items()},
                         query=query)
    back = answer.process_slo(keep_local_session=True)
    page = client.get(flows.path_of(back))
    assert page.status_code == 200 and "Votre session Sésame est terminée." in page.text
