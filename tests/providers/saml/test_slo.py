"""Single logout, front-channel, with python3-saml SPs on both ends."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"


def _at_sp(sp, response):
    """The SP side of a redirect the IdP sent: (python3-saml request data pieces)."""
    assert response.status_code == 302, (response.status_code, response.text[:300])
    location = response.headers["Location"]
    assert location.startswith(sp.slo_url), location
    query = urlsplit(location).query
    return {k: v[0] for k, v in parse_qs(query).items()}, query


def _sp_answers(sp, response, request_id=None):
    """Let ``sp`` process what the IdP sent to its SLO endpoint; returns (auth, URL it redirects to)."""
    get, query = _at_sp(sp, response)
    auth = sp.auth(path=urlsplit(sp.slo_url).path, get=get, query=query)
    back = auth.process_slo(keep_local_session=True, request_id=request_id)
    assert auth.get_errors() == [], auth.get_last_error_reason()
    return auth, back


def _logged_in(client) -> bool:
    with client.session_transaction() as s:
        return "patron" in s


def _logout_url(sp, auth):
    sp_auth = sp.auth(path="/logout")
    url = sp_auth.logout(name_id=auth.get_nameid(), session_index=auth.get_session_index(),
                         name_id_format=PERSISTENT, spnq=auth.get_nameid_spnq())
    return url, sp_auth.get_last_request_id()


def test_sp_initiated_logout_reaches_every_supplier_of_the_session(idp, make_sp, flows):
    first = make_sp("cafeyn", want_messages_signed=True)
    second = make_sp("vodeclic", want_messages_signed=True)
    client = idp.test_client()
    auth1, _ = flows.sso(client, first)
    auth2, _ = flows.sso(client, second)
    url, request_id = _logout_url(first, auth1)

    response = client.get(flows.path_of(url))
    assert not _logged_in(client)
    # the other supplier gets a signed LogoutRequest naming its own NameID
    sp_auth, back = _sp_answers(second, response)
    assert auth2.get_nameid() in sp_auth.get_last_request_xml()
    # its answer sends the browser on; the requester gets its LogoutResponse
    response = client.get(flows.path_of(back))
    _sp_answers(first, response, request_id=request_id)
    # the patron must log in again for the next supplier
    url, _ = second.login_url()
    assert "/login" in client.get(flows.path_of(url)).headers["Location"]


def test_idp_initiated_logout_from_the_portal(idp, make_sp, flows):
    first, second = make_sp("cafeyn"), make_sp("vodeclic")
    client = idp.test_client()
    flows.sso(client, first)
    flows.sso(client, second)
    page = client.get("/logout")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    response = client.post("/logout", data={"csrf_token": token})
    assert urlsplit(response.headers["Location"]).path.startswith("/saml/logout/")
    assert not _logged_in(client)
    response = client.get(flows.path_of(response.headers["Location"]))
    seen = []
    for _ in range(2):
        sp = first if response.headers["Location"].startswith(first.slo_url) else second
        seen.append(sp.name)
        _, back = _sp_answers(sp, response)
        response = client.get(flows.path_of(back))
    assert sorted(seen) == ["cafeyn", "vodeclic"]
    # the round ends where the portal's logout was going
    assert response.status_code == 302 and response.headers["Location"] == _portal_logout_target(idp, flows)
    # and the page there names the suppliers the round visited, once
    page = client.get(flows.path_of(response.headers["Location"]))
    assert "Services prévenus de votre déconnexion" in page.text
    assert "<li>Cafeyn</li>" in page.text and "<li>Vodeclic</li>" in page.text
    assert "Cafeyn" not in client.get("/logout").text


def _portal_logout_target(idp, flows) -> str:
    client = idp.test_client()
    flows.portal_login(client)
    page = client.get("/logout")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return client.post("/logout", data={"csrf_token": token}).headers["Location"]


def test_logout_without_saml_suppliers_is_the_portals_own(idp, flows):
    assert not urlsplit(_portal_logout_target(idp, flows)).path.startswith("/saml/")


def test_tampered_logout_request_is_refused(idp, make_sp, flows):
    sp = make_sp("cafeyn")
    client = idp.test_client()
    auth, _ = flows.sso(client, sp)
    url, _ = _logout_url(sp, auth)
    other, _ = _logout_url(sp, auth)
    params = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    params["Signature"] = parse_qs(urlsplit(other).query)["Signature"][0]
    from urllib.parse import urlencode

    response = client.get("/saml/slo?" + urlencode(params))
    assert response.status_code == 400 and "does not verify" in response.text
    assert _logged_in(client)


def test_unsigned_logout_request_is_refused(idp, make_sp, flows):
    sp = make_sp("cafeyn")
    sp.settings["security"]["logoutRequestSigned"] = False
    client = idp.test_client()
    auth, _ = flows.sso(client, sp)
    url, _ = _logout_url(sp, auth)
    response = client.get(flows.path_of(url))
    assert response.status_code == 400 and "must be signed" in response.text
    assert _logged_in(client)


def test_logout_request_for_another_name_id_logs_nobody_out(idp, make_sp, flows):
    sp = make_sp("cafeyn")
    client = idp.test_client()
    auth, _ = flows.sso(client, sp)
    sp_auth = sp.auth(path="/logout")
    url = sp_auth.logout(name_id="someone-else", name_id_format=PERSISTENT)
    response = client.get(flows.path_of(url))
    get, query = _at_sp(sp, response)
    answer = sp.auth(path=urlsplit(sp.slo_url).path, get=get, query=query)
    answer.process_slo(keep_local_session=True, request_id=sp_auth.get_last_request_id())
    assert answer.get_errors() == ["logout_not_success"]
    assert _logged_in(client)
