"""The code flow driven by an independent relying party (pyoidc) over real HTTP."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import select

from broker.db.models import UsageEvent
from broker.domain.identifiers import pairwise_id
from fixtures.live import VIRE, Browser


def test_code_flow_with_pkce_end_to_end(live, patron, client_factory, rp_factory):
    reg = client_factory("presse-rp", release=["library", "network"])
    rp = rp_factory(reg)
    url, state = rp.authorization_url("openid profile library")
    answer = patron.follow(url)
    assert answer.status_code == 302
    code = rp.code_from(answer)

    tokens = rp.token(state, code)  # pyoidc fetched /oidc/jwks and checked signature, iss, aud, nonce, at_hash
    id_token = tokens["id_token"]
    assert id_token["iss"] == live.base
    assert id_token["aud"] == [reg.client_id]
    assert id_token["nonce"] == rp.client.state2nonce[state]
    assert "at_hash" in id_token and id_token["auth_time"] <= id_token["iat"]
    assert id_token["library"] == VIRE and id_token["network"] == "calvados"
    assert id_token["eduperson_entitlement"] == ["urn:mace:dir:entitlement:common-lib-terms"]
    expected_sub = pairwise_id(live.runtime.keys.pairwise, _uid(live), "presse-rp")
    assert id_token["sub"] == expected_sub
    assert "V0001" not in json.dumps(id_token.to_dict())  # never the card number

    info = rp.userinfo(state)
    assert info["sub"] == expected_sub and info["library"] == VIRE
    assert "name" not in info  # the release policy does not include display_name

    with live.runtime.db.session() as s:
        outcomes = list(s.scalars(select(UsageEvent.outcome).where(UsageEvent.protocol == "oidc")))
    assert "granted" in outcomes


def test_claims_follow_scope_and_release(patron, client_factory, rp_factory):
    reg = client_factory(release=["display_name", "email"])
    rp = rp_factory(reg)
    url, state = rp.authorization_url("openid email")
    code = rp.code_from(patron.follow(url))
    id_token = rp.token(state, code)["id_token"]
    assert id_token["email"] == "sarah.fontaine@example.org"
    assert "name" not in id_token  # released, but the profile scope was not asked
    assert "library" not in id_token and "eduperson_entitlement" not in id_token


def test_public_client_with_pkce(patron, client_factory, rp_factory):
    reg = client_factory(public=True, redirect_uris=["http://127.0.0.1:9/cb"])
    assert reg.client_secret is None
    rp = rp_factory(reg)
    url, state = rp.authorization_url()
    code = rp.code_from(patron.follow(url))
    tokens = rp.token(state, code)
    assert tokens["id_token"]["aud"] == [reg.client_id]


def test_client_secret_post(patron, client_factory, rp_factory):
    rp = rp_factory(client_factory(), auth_method="client_secret_post")
    url, state = rp.authorization_url()
    code = rp.code_from(patron.follow(url))
    assert "access_token" in rp.token(state, code)


def test_private_key_jwt(patron, client_factory, rp_factory, tmp_path):
    from oic.utils.keyio import build_keyjar

    spec = [{"type": "RSA", "name": "rp", "path": f"{tmp_path}/", "size": 2048, "use": ["sig"]}]
    jwks, keyjar, _ = build_keyjar(spec)
    public_jwks = {"keys": [{k: v for k, v in key.items() if k in ("kty", "n", "e", "kid", "use")}
                            for key in jwks["keys"]]}
    reg = client_factory(jwks=json.dumps(public_jwks))
    rp = rp_factory(reg, auth_method="private_key_jwt")
    for bundle in keyjar.issuer_keys[""]:
        rp.client.keyjar.add_kb("", bundle)  # the supplier's own private key signs its assertion
    url, state = rp.authorization_url()
    code = rp.code_from(patron.follow(url))
    assert "id_token" in rp.token(state, code)


def test_es256_id_tokens(patron, client_factory, rp_factory):
    reg = client_factory(id_token_alg="ES256")
    rp = rp_factory(reg)
    url, state = rp.authorization_url()
    code = rp.code_from(patron.follow(url))
    tokens = rp.token(state, code)
    header = json.loads(base64.urlsafe_b64decode(tokens["id_token_jwt"].split(".")[0] + "=="))
    assert header["alg"] == "ES256"


def test_two_suppliers_get_different_subs_and_each_keeps_its_own(live, patron, client_factory, rp_factory):
    first, second = rp_factory(client_factory()), rp_factory(client_factory())
    subs = []
    for rp in (first, second, first):
        url, state = rp.authorization_url()
        code = rp.code_from(patron.follow(url))
        subs.append(rp.token(state, code)["id_token"]["sub"])
    assert subs[0] != subs[1]
    assert subs[0] == subs[2]


def test_same_sub_across_logins(live, client_factory, rp_factory):
    rp = rp_factory(client_factory())
    subs = []
    for _ in range(2):
        browser = Browser(live)
        url, state = rp.authorization_url()
        code = rp.code_from(browser.login_via(browser.get(url)))
        subs.append(rp.token(state, code)["id_token"]["sub"])
    assert subs[0] == subs[1]


def test_tampered_id_token_is_rejected_by_the_relying_party(patron, client_factory, rp_factory):
    from oic.oic.message import IdToken

    rp = rp_factory(client_factory())
    url, state = rp.authorization_url()
    code = rp.code_from(patron.follow(url))
    jwt = rp.token(state, code)["id_token_jwt"]
    header, payload, signature = jwt.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "someone-else"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(Exception) as caught:
        IdToken().from_jwt(f"{header}.{forged}.{signature}", keyjar=rp.client.keyjar)
    assert "signature" in type(caught.value).__name__.lower() or "verif" in str(caught.value).lower()
    IdToken().from_jwt(jwt, keyjar=rp.client.keyjar)  # the genuine one still verifies


def test_discovery_and_jwks(live):
    doc = requests.get(live.url("/.well-known/openid-configuration"), timeout=5).json()
    assert doc["issuer"] == live.base
    assert doc["subject_types_supported"] == ["pairwise"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert set(doc["id_token_signing_alg_values_supported"]) == {"RS256", "ES256"}
    assert "private_key_jwt" in doc["token_endpoint_auth_methods_supported"]
    keys = requests.get(doc["jwks_uri"], timeout=5).json()["keys"]
    assert {k["kty"] for k in keys} == {"RSA", "EC"}
    assert all("d" not in k for k in keys)  # public parts only


def test_rotated_keys_stay_published_until_retired(live, patron, client_factory, rp_factory):

    store = live.runtime.key_store
    old = store.current("oidc-rs256").kid
    store.rotate("oidc-rs256")  # a next key is published
    store.rotate("oidc-rs256")  # and now signs; the old one is still published
    kids = {k["kid"] for k in requests.get(live.url("/oidc/jwks"), timeout=5).json()["keys"]}
    new = store.current("oidc-rs256").kid
    assert {old, new} <= kids and old != new
    rp = rp_factory(client_factory())
    url, state = rp.authorization_url()
    code = rp.code_from(patron.follow(url))
    header = json.loads(base64.urlsafe_b64decode(rp.token(state, code)["id_token_jwt"].split(".")[0] + "=="))
    assert header["kid"] == new
    store.retire(old)
    kids = {k["kid"] for k in requests.get(live.url("/oidc/jwks"), timeout=5).json()["keys"]}
    assert old not in kids


def test_deep_link_goes_to_the_login_url(live, patron, client_factory):
    client_factory("go-rp", login_url="https://go-rp.example.org/login")
    answer = patron.get(live.url("/go/go-rp"))
    assert answer.status_code == 302
    assert answer.headers["Location"] == "https://go-rp.example.org/login"
    answer = patron.get(live.url("/go/go-rp?target=https://go-rp.example.org/magazine/42"))
    assert answer.headers["Location"] == "https://go-rp.example.org/magazine/42"
    answer = patron.get(live.url("/go/go-rp?target=https://elsewhere.example.org/"))
    assert answer.headers["Location"] == "https://go-rp.example.org/login"


def _uid(live) -> str:
    from broker.services import libraries, patrons

    with live.runtime.db.session() as s:
        lib = libraries.get_library(s, VIRE)
        return patrons.find(live.runtime, s, lib, "V0001").uid



def test_only_implemented_prompts_are_advertised(live, patron, client_factory, rp_factory):
    doc = requests.get(live.url("/.well-known/openid-configuration"), timeout=5).json()
    assert doc["prompt_values_supported"] == ["none", "login"]  # no consent step, no account chooser
    rp = rp_factory(client_factory())
    for prompt, error in (("consent", "consent_required"), ("select_account", "account_selection_required")):
        url, state = rp.authorization_url(prompt=prompt)
        answer = patron.follow(url)
        assert answer.status_code == 302
        location = answer.headers["Location"]
        assert location.startswith(rp.redirect_uri)
        query = parse_qs(urlsplit(location).query)
        assert query["error"] == [error] and query["state"] == [state]
        assert "code" not in query
