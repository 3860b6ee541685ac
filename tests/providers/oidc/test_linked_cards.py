"""Linked cards end to end: an independent OpenID Connect RP (pyoidc) offered by two networks, two libraries
on two SIP2 emulators. Different ``sub`` before linking, the same one from either card after."""

from __future__ import annotations

import re

from fixtures.live import Browser
from fixtures.sigbs import BAYEUX, CAEN, CAMILLE, LOUIS, PIN, two_sigbs


def sub_for(live, rp, library, card):
    browser = Browser(live)
    assert browser.login(card, PIN, library).status_code == 302
    url, state = rp.authorization_url("openid")
    response = browser.follow(url)
    token = rp.token(state, rp.code_from(response))
    return token["id_token"]["sub"], browser


def test_same_sub_from_either_card_after_linking(live, client_factory, rp_factory, tmp_path):
    rp = rp_factory(client_factory(networks=["calvados", "caen-la-mer"]))
    with two_sigbs(live.runtime, tmp_path):
        bayeux_sub, camille = sub_for(live, rp, BAYEUX, CAMILLE)
        caen_sub, _ = sub_for(live, rp, CAEN, LOUIS)
        assert bayeux_sub != caen_sub
        page = camille.get(live.url("/account/cards")).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        done = camille.http.post(live.url("/account/cards"), data={"csrf_token": token, "library": CAEN,
                                                                   "card": LOUIS, "password": PIN},
                                 allow_redirects=False, timeout=10)
        assert done.status_code == 302, done.text[:500]
        assert sub_for(live, rp, CAEN, LOUIS)[0] == bayeux_sub
        assert sub_for(live, rp, BAYEUX, CAMILLE)[0] == bayeux_sub
