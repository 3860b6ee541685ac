"""Back-channel logout: a relying party's own HTTP server receives the logout_token and checks it with pyjwkest."""

from __future__ import annotations

import json

import pytest
import requests

from broker.errors import InvalidInput
from fixtures.live import Browser
from fixtures.logout import log_out
from fixtures.servers import free_port

EVENT = "http://schemas.openid.net/event/backchannel-logout"


def _verify(live, token: str, client_id: str) -> dict:
    """The logout_token checked the way a relying party would: pyjwkest against Sésame's published JWKS."""
    from jwkest.jwk import KEYS
    from jwkest.jws import JWS

    keys = KEYS()
    keys.load_dict(requests.get(live.url("/oidc/jwks"), timeout=5).json())
    claims = JWS().verify_compact(token, keys)
    if isinstance(claims, (str, bytes)):
        claims = json.loads(claims)
    assert claims["iss"] == live.base
    assert claims["aud"] in (client_id, [client_id])
    assert claims["events"] == {EVENT: {}}
    assert "nonce" not in claims
    assert claims["jti"] and isinstance(claims["iat"], int)
    return claims


def _log_out_after_using(live, rp):
    """A patron logs in, gets a code for ``rp``, then logs out of Sésame; the page the logout ends on."""
    browser = Browser(live)
    browser.login()
    url, _ = rp.authorization_url()
    rp.code_from(browser.follow(url))
    return log_out(browser)


def test_discovery_advertises_backchannel_logout(live):
    doc = requests.get(live.url("/.well-known/openid-configuration"), timeout=5).json()
    assert doc["backchannel_logout_supported"] is True
    assert doc["backchannel_logout_session_supported"] is True
    assert "sid" in doc["claims_supported"]


def test_logout_posts_a_signed_logout_token_to_each_client_used(live, client_factory, rp_factory,
                                                                 receiver_factory):
    first, second, unused = (receiver_factory() for _ in range(3))
    reg_a = client_factory(name="Presse en ligne", backchannel_logout_uri=first.url)
    reg_b = client_factory(name="Cours de langues", backchannel_logout_uri=second.url, id_token_alg="ES256")
    client_factory(name="Jamais utilisé", backchannel_logout_uri=unused.url)
    browser = Browser(live)
    assert browser.login().status_code == 302
    subs = {}
    for reg in (reg_a, reg_b):
        rp = rp_factory(reg)
        url, state = rp.authorization_url()
        code = rp.code_from(browser.follow(url))
        id_token = rp.token(state, code)["id_token"]
        subs[reg.client_id] = (id_token["sub"], id_token["sid"])

    page = log_out(browser)

    assert page.status_code == 200
    assert "Services prévenus de votre déconnexion" in page.text
    assert "Presse en ligne" in page.text and "Cours de langues" in page.text
    assert "Jamais utilisé" not in page.text
    assert unused.received == []
    for receiver, reg in ((first, reg_a), (second, reg_b)):
        assert len(receiver.received) == 1
        body = receiver.received[0]
        assert body["content_type"][0].startswith("application/x-www-form-urlencoded")
        claims = _verify(live, body["logout_token"][0], reg.client_id)
        assert (claims["sub"], claims["sid"]) == subs[reg.client_id]  # the ID token's subject and session
    assert subs[reg_a.client_id][1] == subs[reg_b.client_id][1]  # one Sésame session, one sid
    # a forged token does not verify with pyjwkest
    token = first.received[0]["logout_token"][0]
    header, payload, signature = token.split(".")
    with pytest.raises(Exception):  # noqa: B017  (the JOSE library's own error for a bad signature)
        _verify(live, f"{header}.{payload[:-4]}AAAA.{signature}", reg_a.client_id)
    # the list is shown once
    again = browser.get(live.url("/logout"))
    assert "Services prévenus" not in again.text


def test_a_new_login_gets_a_new_sid(live, client_factory, rp_factory):
    reg = client_factory()
    sids = []
    for _ in range(2):
        browser = Browser(live)
        browser.login()
        rp = rp_factory(reg)
        url, state = rp.authorization_url()
        sids.append(rp.token(state, rp.code_from(browser.follow(url)))["id_token"]["sid"])
    assert sids[0] != sids[1] and all(sids)


def test_a_client_that_refuses_is_not_listed(live, client_factory, rp_factory, receiver_factory):
    refusing = receiver_factory(status=400)
    reg = client_factory(name="Service en panne", backchannel_logout_uri=refusing.url)
    page = _log_out_after_using(live, rp_factory(reg))
    assert len(refusing.received) == 1
    assert page.status_code == 200 and "Service en panne" not in page.text


def test_an_unreachable_client_does_not_keep_the_patron_logged_in(live, client_factory, rp_factory):
    reg = client_factory(name="Injoignable", backchannel_logout_uri=f"http://127.0.0.1:{free_port()}/bc")
    page = _log_out_after_using(live, rp_factory(reg))
    assert page.status_code == 200 and "Injoignable" not in page.text
    assert "Se connecter" in page.text  # logged out


def test_backchannel_logout_uri_must_be_https(live, client_factory):
    with pytest.raises(InvalidInput):
        client_factory(backchannel_logout_uri="http://rp.example.org/bc")
