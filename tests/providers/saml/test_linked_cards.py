"""Linked cards end to end: an independent SAML SP (python3-saml) in two networks, two libraries on two
SIP2 emulators. Different NameIDs before linking, the same one from either card after, and after moving."""

from __future__ import annotations

import re

from fixtures.sigbs import BAYEUX, CAEN, CAMILLE, LOUIS, PIN, two_sigbs


def name_id(idp, sp, flows, library, card):
    client = idp.test_client()
    auth, _ = flows.sso(client, sp, login={"library": library, "card": card, "pin": PIN})
    assert auth.get_errors() == [], auth.get_last_error_reason()
    return auth.get_nameid(), client


def link_from(client, library, card):
    page = client.get("/account/cards").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client.post("/account/cards", data={"csrf_token": token, "library": library, "card": card,
                                               "password": PIN})


def test_same_name_id_from_either_card_after_linking_and_after_moving(idp, make_sp, flows, tmp_path):
    runtime = idp.extensions["broker"]
    sp = make_sp("cafeyn-sp", networks=("calvados", "caen-la-mer"))
    with two_sigbs(runtime, tmp_path):
        bayeux_id, camille = name_id(idp, sp, flows, BAYEUX, CAMILLE)
        caen_id, _ = name_id(idp, sp, flows, CAEN, LOUIS)
        assert bayeux_id != caen_id  # two strangers to the supplier

        # a second supplier used by neither card yet
        other = make_sp("skilleos-sp", networks=("calvados", "caen-la-mer"))

        assert link_from(camille, CAEN, LOUIS).status_code == 302
        # the same NameID whichever card logs in: the one the first card already had
        assert name_id(idp, sp, flows, CAEN, LOUIS)[0] == bayeux_id
        assert name_id(idp, sp, flows, BAYEUX, CAMILLE)[0] == bayeux_id
        first_other = name_id(idp, other, flows, CAEN, LOUIS)[0]
        assert name_id(idp, other, flows, BAYEUX, CAMILLE)[0] == first_other

        # moving: the Bayeux registration expires, the Caen card keeps the old identity
        from broker.domain.memberships import Transition
        from broker.services import memberships

        with runtime.db.session() as s:
            m = memberships.find_membership(runtime, s, BAYEUX, CAMILLE)
            memberships.change(runtime, s, m, Transition.EXPIRE, actor="test", reason="moved away")
        assert name_id(idp, sp, flows, CAEN, LOUIS)[0] == bayeux_id

        # unlinking: the Caen card has its own identity again
        page = camille.get("/account/cards").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        card_id = re.search(r'name="card" value="(\d+)">\s*<button type="submit" class="secondary">[^<]*0015',
                            page).group(1)
        assert camille.post("/account/cards/unlink", data={"csrf_token": token, "card": card_id}).status_code == 302
        assert name_id(idp, sp, flows, CAEN, LOUIS)[0] == caen_id
        third = make_sp("third-sp", networks=("calvados", "caen-la-mer"))
        assert name_id(idp, third, flows, CAEN, LOUIS)[0] != first_other
