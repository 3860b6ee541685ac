"""The same flows with Redis as the state store (the production backend)."""

from __future__ import annotations

import pytest
import requests

from fixtures.live import Browser, private_redis, register, serve


@pytest.fixture(scope="module")
def live(tmp_path_factory, demo_db):
    for url in private_redis(tmp_path_factory.mktemp("redis")):
        yield from serve(tmp_path_factory, demo_db(sip2="offline"), redis_url=url)


def test_code_flow_refresh_and_replay_on_redis(live, rp_factory):
    assert live.runtime.state.backend == "redis"
    reg = register(live, "redis-rp", refresh=True)
    rp = rp_factory(reg)
    browser = Browser(live)
    url, state = rp.authorization_url()
    code = rp.code_from(browser.login_via(browser.get(url)))
    tokens = rp.token(state, code)
    assert rp.userinfo(state)["sub"] == tokens["id_token"]["sub"]
    refreshed = requests.post(live.url("/oidc/token"), auth=(reg.client_id, reg.client_secret), timeout=10, data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}).json()
    assert refreshed["refresh_token"] != tokens["refresh_token"]
    replay = requests.post(live.url("/oidc/token"), auth=(reg.client_id, reg.client_secret), timeout=10, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": reg.redirect_uris[0],
        "code_verifier": rp.verifiers[state]})
    assert replay.json()["error"] == "invalid_grant"
    answer = requests.get(live.url("/oidc/userinfo"), timeout=10,
                          headers={"Authorization": f"Bearer {refreshed['access_token']}"})
    assert answer.status_code == 401  # the replay revoked the whole grant, refreshed tokens included


def test_cas_ticket_once_on_redis(live):
    from urllib.parse import parse_qs, urlencode, urlsplit

    from cas import CASClient

    from broker.providers.cas.services import register as register_service

    with live.runtime.db.session() as s:
        register_service(live.runtime, s, "redis-cas", patterns=[r"https://cas\.example\.org/.*"],
                         networks=["calvados"])
    service = "https://cas.example.org/app"
    browser = Browser(live)
    back = browser.login_via(browser.get(live.url("/cas/login?" + urlencode({"service": service}))))
    ticket = parse_qs(urlsplit(back.headers["Location"]).query)["ticket"][0]
    client = CASClient(version=3, service_url=service, server_url=live.base + "/cas/")
    assert client.verify_ticket(ticket)[0]
    assert client.verify_ticket(ticket)[0] is None
