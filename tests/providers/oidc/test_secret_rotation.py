"""A rotated client secret: the token endpoint takes the old one during the grace period, then only the new one."""

from __future__ import annotations

from dataclasses import replace

import requests

from broker.providers.oidc.clients import rotate_secret
from broker.services.suppliers import get_supplier


def _rotate(live, slug: str, grace_days: int) -> str:
    with live.runtime.db.session() as s:
        return rotate_secret(live.runtime, s, get_supplier(s, slug), grace_days=grace_days, actor="test")


def _code(patron, rp) -> tuple[str, str]:
    url, state = rp.authorization_url("openid library")
    return state, rp.code_from(patron.follow(url))


def test_old_secret_works_during_the_grace_period_only(live, patron, client_factory, rp_factory):
    first = client_factory("rotated-rp")
    second_secret = _rotate(live, "rotated-rp", 7)
    for secret in (first.client_secret, second_secret):  # both accepted during the grace period
        rp = rp_factory(replace(first, client_secret=secret))
        state, code = _code(patron, rp)
        assert "id_token" in rp.token(state, code), secret[:4]

    third_secret = _rotate(live, "rotated-rp", 0)  # no grace: the replaced secret stops at once
    rp = rp_factory(replace(first, client_secret=third_secret))
    state, code = _code(patron, rp)
    verifier = rp.verifiers[state]
    token_url = rp.client.token_endpoint
    refused = requests.post(token_url, auth=(first.client_id, second_secret), timeout=10, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": rp.redirect_uri, "code_verifier": verifier})
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    refused = requests.post(token_url, auth=(first.client_id, first.client_secret), timeout=10, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": rp.redirect_uri, "code_verifier": verifier})
    assert refused.status_code == 401
    assert "id_token" in rp.token(state, code)
