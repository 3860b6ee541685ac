"""What the provider refuses: replays, PKCE tricks, foreign redirect URIs and codes, expired codes, refusals."""

from __future__ import annotations

import dataclasses
import re
from urllib.parse import urlencode

import requests
from sqlalchemy import select

from broker.db.models import UsageEvent
from fixtures.live import RP_BASE, VIRE, Browser, query_of


def _token_request(live, reg, code, verifier=None, redirect_uri=None, **extra):
    data = {"grant_type": "authorization_code", "code": code,
            "redirect_uri": redirect_uri or reg.redirect_uris[0], **extra}
    if verifier:
        data["code_verifier"] = verifier
    auth = (reg.client_id, reg.client_secret) if reg.client_secret else None
    if auth is None:
        data["client_id"] = reg.client_id
    return requests.post(live.url("/oidc/token"), data=data, auth=auth, timeout=10)


def _userinfo(live, access_token):
    return requests.get(live.url("/oidc/userinfo"), headers={"Authorization": f"Bearer {access_token}"}, timeout=10)


def test_replayed_code_is_refused_and_its_tokens_revoked(live, patron, client_factory, rp_factory):
    reg = client_factory()
    rp = rp_factory(reg)
    url, state = rp.authorization_url()
    code = rp.code_from(patron.follow(url))
    verifier = rp.verifiers[state]
    first = _token_request(live, reg, code, verifier)
    assert first.status_code == 200
    access_token = first.json()["access_token"]
    assert _userinfo(live, access_token).status_code == 200

    replay = _token_request(live, reg, code, verifier)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    answer = _userinfo(live, access_token)
    assert answer.status_code == 401
    assert 'error="invalid_token"' in answer.headers["WWW-Authenticate"]


def test_wrong_pkce_verifier(live, patron, client_factory, rp_factory):
    reg = client_factory()
    rp = rp_factory(reg)
    url, state = rp.authorization_url()
    code = rp.code_from(patron.follow(url))
    answer = _token_request(live, reg, code, "x" * 64)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"
    # and the code is spent: the right verifier is too late
    assert _token_request(live, reg, code, rp.verifiers[state]).json()["error"] == "invalid_grant"


def test_pkce_downgrades_are_refused(live, patron, client_factory, rp_factory):
    reg = client_factory(public=True, redirect_uris=["http://127.0.0.1:9/cb"])
    rp = rp_factory(reg)
    # no code_challenge from a public client
    url, _ = rp.authorization_url(pkce=False)
    answer = patron.follow(url)
    assert answer.headers["Location"].startswith("http://127.0.0.1:9/cb")
    assert query_of(answer)["error"] == "invalid_request"
    # method plain
    url, _ = rp.authorization_url(pkce=False, code_challenge="a" * 43, code_challenge_method="plain")
    assert query_of(patron.follow(url))["error"] == "invalid_request"
    # a challenge without its method means plain: refused too
    url, _ = rp.authorization_url(pkce=False, code_challenge="a" * 43)
    assert query_of(patron.follow(url))["error"] == "invalid_request"
    # a code issued with a challenge, redeemed without the verifier
    url, state = rp.authorization_url()
    code = rp.code_from(patron.follow(url))
    answer = _token_request(live, reg, code)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_request"


def test_confidential_client_may_skip_pkce_but_not_half_of_it(live, patron, client_factory, rp_factory):
    reg = client_factory()
    rp = rp_factory(reg)
    url, state = rp.authorization_url(pkce=False)
    code = rp.code_from(patron.follow(url))
    assert _token_request(live, reg, code, "v" * 50).json()["error"] == "invalid_request"  # verifier, no challenge
    url, state = rp.authorization_url(pkce=False)
    code = rp.code_from(patron.follow(url))
    assert _token_request(live, reg, code).status_code == 200


def test_unregistered_redirect_uri_shows_a_page_and_never_redirects(live, patron, client_factory):
    reg = client_factory()
    for uri in (f"{RP_BASE}/evil/cb", reg.redirect_uris[0] + "/more", reg.redirect_uris[0] + "?x=1",
                'https://evil.example.org/"\\cb'):
        query = urlencode({"client_id": reg.client_id, "response_type": "code", "scope": "openid",
                           "redirect_uri": uri, "state": "s"})
        answer = patron.get(live.url(f"/oidc/authorize?{query}"))
        assert answer.status_code == 400, uri
        assert "Location" not in answer.headers
        assert answer.headers["Content-Type"].startswith("text/html")
        assert "pas valide" in answer.text
    # a missing redirect_uri, an unknown client: a page too
    query = urlencode({"client_id": reg.client_id, "response_type": "code", "scope": "openid"})
    assert patron.get(live.url(f"/oidc/authorize?{query}")).status_code == 400
    query = urlencode({"client_id": "nobody", "response_type": "code", "scope": "openid",
                       "redirect_uri": reg.redirect_uris[0]})
    answer = patron.get(live.url(f"/oidc/authorize?{query}"))
    assert answer.status_code == 400 and "Location" not in answer.headers
    assert "enregistré" in answer.text


def test_errors_after_the_redirect_uri_is_verified_go_back_to_the_client(live, patron, client_factory):
    reg = client_factory()
    base = {"client_id": reg.client_id, "redirect_uri": reg.redirect_uris[0], "scope": "openid", "state": "xyz"}
    answer = patron.get(live.url("/oidc/authorize?" + urlencode({**base, "response_type": "token"})))
    assert answer.status_code == 302
    assert query_of(answer) == {"error": "unsupported_response_type", "state": "xyz",
                                "error_description": query_of(answer)["error_description"]}
    answer = patron.get(live.url("/oidc/authorize?" + urlencode({**base, "response_type": "code",
                                                                  "request": "eyJ.x.y"})))
    assert query_of(answer)["error"] == "request_not_supported"
    answer = patron.get(live.url("/oidc/authorize?" + urlencode({**base, "response_type": "code",
                                                                  "max_age": "soon"})))
    assert query_of(answer)["error"] == "invalid_request"


def test_code_issued_to_another_client(live, patron, client_factory, rp_factory):
    owner, thief = client_factory(), client_factory()
    rp = rp_factory(owner)
    url, state = rp.authorization_url()
    code = rp.code_from(patron.follow(url))
    stolen = _token_request(live, thief, code, rp.verifiers[state], redirect_uri=owner.redirect_uris[0])
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"


def test_wrong_secret_and_redirect_uri_mismatch(live, patron, client_factory, rp_factory):
    reg = client_factory(redirect_uris=[f"{RP_BASE}/a/cb", f"{RP_BASE}/b/cb"])
    rp = rp_factory(reg)
    url, state = rp.authorization_url()
    code = rp.code_from(patron.follow(url))
    bad = dataclasses.replace(reg, client_secret="not-the-secret")
    answer = _token_request(live, bad, code, rp.verifiers[state])
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"
    url, state = rp.authorization_url()
    code = rp.code_from(patron.follow(url))
    answer = _token_request(live, reg, code, rp.verifiers[state], redirect_uri=f"{RP_BASE}/b/cb")
    assert answer.json()["error"] == "invalid_grant"


def test_expired_code(live, patron, client_factory, rp_factory, monkeypatch):
    server = live.runtime.oidc_server
    monkeypatch.setattr(server.tokens, "settings", dataclasses.replace(server.tokens.settings, oidc_code_lifetime=1))
    reg = client_factory()
    rp = rp_factory(reg)
    url, state = rp.authorization_url()
    code = rp.code_from(patron.follow(url))
    live.clock.advance(1.3)
    answer = _token_request(live, reg, code, rp.verifiers[state])
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


def test_forged_or_garbage_codes(live, client_factory):
    reg = client_factory()
    for code in ("", "x", "a" * 300, "abc.def", "é"):
        answer = _token_request(live, reg, code)
        assert answer.status_code == 400, code
        assert answer.json()["error"] in ("invalid_grant", "invalid_request")


def test_prompt_none_without_session_answers_login_required(live, browser, client_factory, rp_factory):
    rp = rp_factory(client_factory())
    url, state = rp.authorization_url(prompt="none")
    answer = browser.get(url)
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith(rp.redirect_uri)
    assert query_of(answer)["error"] == "login_required" and query_of(answer)["state"] == state


def test_without_session_the_patron_logs_in_then_comes_back(live, browser, client_factory, rp_factory):
    rp = rp_factory(client_factory())
    url, state = rp.authorization_url(login_hint=VIRE, ui_locales="en")
    answer = browser.get(url)
    login = answer.headers["Location"]
    assert login.startswith("/login?") and f"library={VIRE}" in login and "lang=en" in login
    code = rp.code_from(browser.login_via(answer))
    assert rp.token(state, code)["id_token"]["library"] == VIRE


def test_prompt_login_and_max_age_force_a_new_login(live, client_factory, rp_factory):
    rp = rp_factory(client_factory())
    browser = Browser(live)
    assert browser.login().status_code == 302
    first_login = live.clock.wall()
    live.clock.advance(1.1)
    for extra in ({"prompt": "login"}, {"max_age": "0"}):
        url, state = rp.authorization_url(**extra)
        answer = browser.get(url)
        assert answer.headers["Location"].startswith("/login?") and "renew=1" in answer.headers["Location"]
        # coming back without logging in again does not help: the signed marker wants a newer login
        back = re.search(r"next=([^&]+)", answer.headers["Location"]).group(1)
        from urllib.parse import unquote

        again = browser.get(live.url(unquote(back)))
        assert again.headers["Location"].startswith("/login?")
        code = rp.code_from(browser.login_via(answer))
        assert rp.token(state, code)["id_token"]["auth_time"] > first_login


def test_refused_access_shows_the_refusal_page(live, client_factory, rp_factory, pending_patron):
    """V0002 registers online: pending until the referent validates; a supplier is refused meanwhile."""
    browser = pending_patron
    reg = client_factory("pending-rp")
    rp = rp_factory(reg)
    url, _ = rp.authorization_url()
    answer = browser.get(url)
    assert answer.status_code == 403 and "Location" not in answer.headers
    assert "attend sa validation" in answer.text
    url, state = rp.authorization_url(prompt="none")
    answer = browser.get(url)
    assert query_of(answer)["error"] == "access_denied" and query_of(answer)["state"] == state
    with live.runtime.db.session() as s:
        outcomes = list(s.scalars(select(UsageEvent.outcome).where(UsageEvent.protocol == "oidc",
                                                                   UsageEvent.outcome != "granted")))
    assert "membership_pending" in outcomes


def test_supplier_outside_the_network_bundle(live, patron, client_factory, rp_factory):
    rp = rp_factory(client_factory(networks=["caen-la-mer"]))
    url, _ = rp.authorization_url()
    answer = patron.get(url)
    assert answer.status_code == 403 and "Location" not in answer.headers


def test_error_pages_speak_english_when_asked(live, browser):
    query = urlencode({"client_id": "nobody", "response_type": "code", "scope": "openid",
                       "redirect_uri": "https://x.example.org/cb", "lang": "en"})
    answer = browser.get(live.url(f"/oidc/authorize?{query}"))
    assert answer.status_code == 400 and "This service is not registered with Sésame." in answer.text


def test_malformed_parameters_never_crash(live, patron, client_factory):
    reg = client_factory()
    odd = '"\\é\x00'
    ok_uri = reg.redirect_uris[0]
    authorize = [
        {"client_id": reg.client_id, "redirect_uri": ok_uri, "response_type": odd},
        {"client_id": odd, "redirect_uri": ok_uri, "response_type": "code"},
        {"client_id": reg.client_id, "redirect_uri": ok_uri, "response_type": "code", "scope": odd, "state": odd},
        {"client_id": reg.client_id, "redirect_uri": ok_uri, "response_type": "code", "code_challenge": odd,
         "code_challenge_method": "S256"},
        {"client_id": reg.client_id, "redirect_uri": ok_uri, "response_type": "code", "prompt": "none login"},
        {"client_id": reg.client_id, "redirect_uri": ok_uri, "response_type": "code", "max_age": "9" * 40},
    ]
    for params in authorize:
        answer = patron.get(live.url("/oidc/authorize"), params=params)
        assert answer.status_code in (302, 400), params
    posts = [
        ("/oidc/token", {"grant_type": odd}),
        ("/oidc/token", {"grant_type": "authorization_code", "client_id": odd, "code": odd}),
        ("/oidc/token", {"grant_type": "authorization_code", "client_assertion": "a.b.c", "code": "x",
                         "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}),
        ("/oidc/revoke", {"token": odd, "token_type_hint": odd, "client_id": reg.client_id}),
        ("/oidc/introspect", {"token": odd, "client_id": reg.client_id, "client_secret": reg.client_secret}),
    ]
    for path, data in posts:
        answer = requests.post(live.url(path), data=data, timeout=10)
        assert answer.status_code in (200, 400, 401), (path, data)
        assert answer.headers["Content-Type"].startswith("application/json")
    for params in ({"id_token_hint": odd, "post_logout_redirect_uri": odd}, {"client_id": odd}):
        assert patron.get(live.url("/oidc/logout"), params=params).status_code in (200, 400)


def test_id_token_hint_for_another_patron(live, patron, client_factory, rp_factory):
    reg = client_factory()
    rp = rp_factory(reg)
    url, state = rp.authorization_url()
    code = rp.code_from(patron.follow(url))
    hint = rp.token(state, code)["id_token_jwt"]
    # the hint names the logged-in patron: silent authentication works
    url, state = rp.authorization_url(prompt="none", id_token_hint=hint)
    assert "code" in query_of(patron.get(url))
    # a hint naming someone else: login_required with prompt=none
    other = rp_factory(client_factory())
    url, state = other.authorization_url()
    other_hint = other.token(state, other.code_from(patron.follow(url)))["id_token_jwt"]  # another sector
    url, state = rp.authorization_url(prompt="none", id_token_hint=other_hint)
    assert query_of(patron.get(url))["error"] == "login_required"
    # a forged hint
    url, _ = rp.authorization_url(id_token_hint=hint[:-4] + "AAAA")
    assert query_of(patron.get(url))["error"] == "invalid_request"
