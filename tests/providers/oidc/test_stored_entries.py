"""What the state store keeps for codes and tokens, and what a damaged entry does: never an error.

An entry that cannot be read is an unknown code or token: ``invalid_grant`` at
the token endpoint, 401 at userinfo, inactive at introspection.
"""

from __future__ import annotations

import pytest
import requests

from broker.providers.oidc import tokens as stored
from broker.providers.oidc.token_entries import CodeEntry, TokenEntry, UsedRefresh

DAMAGED = {
    "text": lambda e: "garbage",
    "list": lambda e: [e],
    "empty": lambda e: {},
    "client_number": lambda e: {**e, "c": 7},
    "auth_time_text": lambda e: {**e, "t": "yesterday"},
    "claims_list": lambda e: {**e, "cl": ["sub"]},
}


def _post(live, path, reg, **data):
    return requests.post(live.url(path), data=data, auth=(reg.client_id, reg.client_secret), timeout=10)


def _userinfo(live, token):
    return requests.get(live.url("/oidc/userinfo"), headers={"Authorization": f"Bearer {token}"}, timeout=10)


def _key(live, prefix: str, secret: str) -> str:
    return prefix + live.runtime.keys.token_hash(secret)


def _tokens(live, patron, rp):
    url, state = rp.authorization_url()
    code = rp.code_from(patron.follow(url))
    return rp.token(state, code).to_dict()


def test_codes_and_tokens_are_stored_in_their_short_form(live, patron, client_factory, rp_factory):
    reg = client_factory(refresh=True)
    rp = rp_factory(reg)
    url, state = rp.authorization_url()
    code = rp.code_from(patron.follow(url))
    entry = live.runtime.state.get(_key(live, stored.CODE, code))
    assert list(entry)[:6] == ["c", "u", "r", "s", "t", "cl"] and {"n", "cc", "cm"} <= set(entry)
    assert CodeEntry.from_wire(entry).to_wire() == entry
    tokens = rp.token(state, code).to_dict()
    access = live.runtime.state.get(_key(live, stored.ACCESS, tokens["access_token"]))
    assert list(access) == ["c", "u", "s", "g", "t", "i", "e", "cl"]
    refresh = live.runtime.state.get(_key(live, stored.REFRESH, tokens["refresh_token"]))
    assert list(refresh) == ["c", "u", "s", "g", "t", "i", "e", "sub"]
    assert TokenEntry.from_wire(access).subject == TokenEntry.from_wire(refresh).subject == tokens["id_token"]["sub"]


@pytest.mark.parametrize("damage", list(DAMAGED.values()), ids=list(DAMAGED))
def test_a_damaged_code_is_an_invalid_grant(live, patron, client_factory, rp_factory, damage):
    reg = client_factory()
    rp = rp_factory(reg)
    url, state = rp.authorization_url()
    code = rp.code_from(patron.follow(url))
    key = _key(live, stored.CODE, code)
    live.runtime.state.put(key, damage(live.runtime.state.get(key)), 60)
    answer = _post(live, "/oidc/token", reg, grant_type="authorization_code", code=code,
                   redirect_uri=rp.redirect_uri, code_verifier=rp.verifiers[state])
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


@pytest.mark.parametrize("damage", list(DAMAGED.values()), ids=list(DAMAGED))
def test_a_damaged_access_token_is_an_unknown_token(live, patron, client_factory, rp_factory, damage):
    reg = client_factory()
    tokens = _tokens(live, patron, rp_factory(reg))
    key = _key(live, stored.ACCESS, tokens["access_token"])
    live.runtime.state.put(key, damage(live.runtime.state.get(key)), 60)
    assert _userinfo(live, tokens["access_token"]).status_code == 401
    assert _post(live, "/oidc/introspect", reg, token=tokens["access_token"]).json() == {"active": False}
    assert _post(live, "/oidc/revoke", reg, token=tokens["access_token"]).status_code == 200


@pytest.mark.parametrize("damage", list(DAMAGED.values()), ids=list(DAMAGED))
def test_a_damaged_refresh_token_is_an_invalid_grant(live, patron, client_factory, rp_factory, damage):
    reg = client_factory(refresh=True)
    tokens = _tokens(live, patron, rp_factory(reg))
    key = _key(live, stored.REFRESH, tokens["refresh_token"])
    live.runtime.state.put(key, damage(live.runtime.state.get(key)), 60)
    answer = _post(live, "/oidc/token", reg, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


def test_a_damaged_mark_of_a_used_refresh_token_refuses_it_again(live, patron, client_factory, rp_factory):
    reg = client_factory(refresh=True)
    tokens = _tokens(live, patron, rp_factory(reg))
    refresh = tokens["refresh_token"]
    assert _post(live, "/oidc/token", reg, grant_type="refresh_token", refresh_token=refresh).status_code == 200
    key = _key(live, stored.REFRESH_USED, refresh)
    assert UsedRefresh.from_wire(live.runtime.state.get(key)) is not None
    live.runtime.state.put(key, {"g": None}, 60)
    again = _post(live, "/oidc/token", reg, grant_type="refresh_token", refresh_token=refresh)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
