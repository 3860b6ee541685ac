"""Refresh tokens (rotation, reuse detection), revocation (RFC 7009), introspection (RFC 7662), userinfo, logout."""

from __future__ import annotations

import re

import requests

from fixtures.live import RP_BASE, Browser, query_of


def _code_tokens(live, patron, rp):
    """A code flow through pyoidc; returns the token response as a dict."""
    url, state = rp.authorization_url()
    code = rp.code_from(patron.follow(url))
    response = rp.token(state, code)
    tokens = response.to_dict()
    tokens["state"] = state
    return tokens


def _post(live, path, reg, **data):
    return requests.post(live.url(path), data=data, auth=(reg.client_id, reg.client_secret), timeout=10)


def _userinfo(live, token):
    return requests.get(live.url("/oidc/userinfo"), headers={"Authorization": f"Bearer {token}"}, timeout=10)


def test_no_refresh_token_by_default(live, patron, client_factory, rp_factory):
    reg = client_factory()
    tokens = _code_tokens(live, patron, rp_factory(reg))
    assert "refresh_token" not in tokens
    answer = _post(live, "/oidc/token", reg, grant_type="refresh_token", refresh_token="whatever.x")
    assert answer.status_code == 400 and answer.json()["error"] == "unauthorized_client"


def test_refresh_tokens_rotate_and_a_reused_one_revokes_the_grant(live, patron, client_factory, rp_factory):
    reg = client_factory(refresh=True)
    first = _code_tokens(live, patron, rp_factory(reg))
    refresh = first["refresh_token"]

    second = _post(live, "/oidc/token", reg, grant_type="refresh_token", refresh_token=refresh).json()
    assert second["refresh_token"] != refresh and second["access_token"] != first["access_token"]
    assert _userinfo(live, second["access_token"]).json()["sub"] == first["id_token"]["sub"]

    reused = _post(live, "/oidc/token", reg, grant_type="refresh_token", refresh_token=refresh)
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    # reuse means theft: every token of the grant stops working
    assert _userinfo(live, second["access_token"]).status_code == 401
    assert _userinfo(live, first["access_token"]).status_code == 401
    third = _post(live, "/oidc/token", reg, grant_type="refresh_token", refresh_token=second["refresh_token"])
    assert third.status_code == 400


def test_refresh_token_of_another_client(live, patron, client_factory, rp_factory):
    owner, other = client_factory(refresh=True), client_factory(refresh=True)
    tokens = _code_tokens(live, patron, rp_factory(owner))
    answer = _post(live, "/oidc/token", other, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


def test_revoking_an_access_token(live, patron, client_factory, rp_factory):
    reg = client_factory()
    tokens = _code_tokens(live, patron, rp_factory(reg))
    assert _userinfo(live, tokens["access_token"]).status_code == 200
    answer = _post(live, "/oidc/revoke", reg, token=tokens["access_token"], token_type_hint="access_token")
    assert answer.status_code == 200
    assert _userinfo(live, tokens["access_token"]).status_code == 401
    # revoking an unknown token is not an error (RFC 7009 §2.2)
    assert _post(live, "/oidc/revoke", reg, token="unknown.token").status_code == 200


def test_revoking_a_refresh_token_revokes_its_grant(live, patron, client_factory, rp_factory):
    reg = client_factory(refresh=True)
    tokens = _code_tokens(live, patron, rp_factory(reg))
    assert _post(live, "/oidc/revoke", reg, token=tokens["refresh_token"]).status_code == 200
    assert _userinfo(live, tokens["access_token"]).status_code == 401
    answer = _post(live, "/oidc/token", reg, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert answer.status_code == 400


def test_public_client_revokes_with_its_client_id(live, patron, client_factory, rp_factory):
    reg = client_factory(public=True, redirect_uris=["http://127.0.0.1:9/cb"])
    tokens = _code_tokens(live, patron, rp_factory(reg))
    answer = requests.post(live.url("/oidc/revoke"), data={"token": tokens["access_token"],
                                                           "client_id": reg.client_id}, timeout=10)
    assert answer.status_code == 200
    assert _userinfo(live, tokens["access_token"]).status_code == 401


def test_introspection(live, patron, client_factory, rp_factory):
    reg = client_factory(refresh=True)
    tokens = _code_tokens(live, patron, rp_factory(reg))
    info = _post(live, "/oidc/introspect", reg, token=tokens["access_token"]).json()
    assert info["active"] is True
    assert info["client_id"] == reg.client_id and info["sub"] == tokens["id_token"]["sub"]
    assert "openid" in info["scope"].split() and info["exp"] > info["iat"]
    refresh = _post(live, "/oidc/introspect", reg, token=tokens["refresh_token"]).json()
    assert refresh["active"] is True and refresh["token_type"] == "refresh_token"
    # another client learns nothing about it
    other = client_factory()
    assert _post(live, "/oidc/introspect", other, token=tokens["access_token"]).json() == {"active": False}
    # nor does anyone without credentials
    anonymous = requests.post(live.url("/oidc/introspect"), data={"token": tokens["access_token"],
                                                                   "client_id": reg.client_id}, timeout=10)
    assert anonymous.status_code in (400, 401)
    _post(live, "/oidc/revoke", reg, token=tokens["access_token"])
    assert _post(live, "/oidc/introspect", reg, token=tokens["access_token"]).json() == {"active": False}


def test_userinfo_needs_a_valid_bearer_token(live):
    answer = requests.get(live.url("/oidc/userinfo"), timeout=10)
    assert answer.status_code == 401 and answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert _userinfo(live, "nonsense").status_code == 401
    assert _userinfo(live, "a" * 500).status_code == 401


def test_rp_initiated_logout_with_id_token_hint(live, client_factory, rp_factory):
    reg = client_factory(post_logout_redirect_uris=[f"{RP_BASE}/bye"])
    rp = rp_factory(reg)
    browser = Browser(live)
    assert browser.login().status_code == 302
    tokens = _code_tokens(live, browser, rp)
    answer = browser.get(live.url("/oidc/logout"), params={
        "id_token_hint": tokens["id_token_jwt"], "post_logout_redirect_uri": f"{RP_BASE}/bye", "state": "s1"})
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith(f"{RP_BASE}/bye") and query_of(answer)["state"] == "s1"
    # the broker session is over: the next authorization asks for a login
    url, _ = rp.authorization_url()
    assert browser.get(url).headers["Location"].startswith("/login?")


def test_logout_never_redirects_to_an_unregistered_uri(live, client_factory, rp_factory):
    reg = client_factory(post_logout_redirect_uris=[f"{RP_BASE}/bye"])
    rp = rp_factory(reg)
    browser = Browser(live)
    browser.login()
    tokens = _code_tokens(live, browser, rp)
    answer = browser.get(live.url("/oidc/logout"), params={
        "id_token_hint": tokens["id_token_jwt"], "post_logout_redirect_uri": "https://evil.example.org/"})
    assert answer.status_code == 200 and "Location" not in answer.headers
    assert "déconnecté" in answer.text


def test_logout_without_hint_asks_for_confirmation(live, client_factory):
    reg = client_factory(post_logout_redirect_uris=[f"{RP_BASE}/bye"])
    browser = Browser(live)
    browser.login()
    page = browser.get(live.url("/oidc/logout"), params={"client_id": reg.client_id,
                                                          "post_logout_redirect_uri": f"{RP_BASE}/bye"})
    assert page.status_code == 200 and 'name="confirm"' in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    forged = browser.http.post(live.url("/oidc/logout"), data={"confirm": "1", "csrf_token": "forged"},
                               allow_redirects=False, timeout=10)
    assert forged.status_code == 400
    done = browser.http.post(live.url("/oidc/logout"), allow_redirects=False, timeout=10, data={
        "confirm": "1", "csrf_token": token, "client_id": reg.client_id,
        "post_logout_redirect_uri": f"{RP_BASE}/bye"})
    assert done.status_code == 200 and f'href="{RP_BASE}/bye"' in done.text  # a link, not a redirect
    assert browser.get(live.url("/account")).status_code == 302  # logged out


def test_logout_with_a_forged_hint_is_refused(live, client_factory, rp_factory):
    browser = Browser(live)
    answer = browser.get(live.url("/oidc/logout"), params={"id_token_hint": "eyJhbGciOiJub25lIn0.e30.",
                                                            "post_logout_redirect_uri": f"{RP_BASE}/bye"})
    assert answer.status_code == 400 and "Location" not in answer.headers
