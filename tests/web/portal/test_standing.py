"""Refusals say why: the referent's reason, the ended agreement, the expired card — on the refusal page,
the home page and the account page, and the catalogue's buttons say what a click will do."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from broker.clock import today
from broker.db.models import Agreement
from broker.domain.memberships import Transition
from broker.services import memberships, standing

REASON = "Carte prêtée à un tiers, constaté le 3 mars"


def _change(portal, transition: Transition, reason: str = "", actor: str = "referent@vire.example.org",
            card: str = "V0001") -> None:
    with portal.session() as s:
        patron = portal.patron(s, card)
        memberships.change(portal.runtime, s, patron.membership, transition, actor=actor, reason=reason)


def _html(response) -> str:
    return response.get_data(as_text=True).replace("&#39;", "'").replace("&#34;", '"')


def test_suspension_reason_on_the_refusal_home_and_account_pages(portal):
    assert portal.login().status_code == 302
    _change(portal, Transition.SUSPEND, REASON)

    refused = portal.client.get("/go/cafeyn")
    html = _html(refused)
    assert refused.status_code == 403 and 'data-reason="membership_suspended"' in html
    assert "Le motif donné par votre bibliothèque" in html and REASON in html
    assert "pour savoir pourquoi" not in html  # the reason is given: no "ask why"
    assert "membership_suspended</" not in html  # no internal code for the patron

    home = _html(portal.client.get("/"))
    assert "Votre accès est suspendu" in home and REASON in home
    assert "Pas accessible : voir pourquoi" in home
    assert 'aria-label="Accéder à Cafeyn"' not in home
    assert 'href="/refusal/membership_suspended"' in home

    account = _html(portal.client.get("/account"))
    assert "Suspendue" in account and REASON in account

    # the page the buttons lead to says the same
    linked = _html(portal.client.get("/refusal/membership_suspended"))
    assert REASON in linked


def test_refusal_reason_shown_and_machine_notes_never(portal):
    assert portal.login().status_code == 302
    _change(portal, Transition.SUSPEND, "expired in the SIGB", actor="system")
    html = _html(portal.client.get("/go/cafeyn"))
    assert 'data-reason="membership_suspended"' in html
    assert "expired in the SIGB" not in html and "Le motif donné" not in html
    assert "pour savoir pourquoi" in html


def test_refused_registration_says_the_referents_reason(portal):
    assert portal.register().status_code == 302  # V0002: pending at Vire
    home = _html(portal.client.get("/"))
    assert "Votre inscription attend sa validation" in home and "Pas accessible : voir pourquoi" in home
    _change(portal, Transition.REFUSE, "Pas de carte à ce nom dans notre bibliothèque", card="V0002")
    for path in ("/go/cafeyn", "/", "/account", "/refusal/membership_refused"):
        assert "Pas de carte à ce nom dans notre bibliothèque" in _html(portal.client.get(path)), path


def test_ended_agreement_on_home_and_account_though_the_membership_is_active(portal):
    assert portal.login().status_code == 302
    ended = today() - timedelta(days=10)
    with portal.session() as s:
        partner = portal.patron(s, "V0001").library.partner
        for agreement in s.scalars(select(Agreement).where(Agreement.partner_id == partner.id)):
            agreement.end = ended
    home = _html(portal.client.get("/"))
    assert 'data-reason="partner_inactive"' in home
    assert "Votre bibliothèque ne participe pas au service en ce moment" in home
    assert "Pas accessible : voir pourquoi" in home
    account = _html(portal.client.get("/account"))
    assert "Active" in account and "ne participe pas au service" in account
    assert "Vous pouvez utiliser toutes les ressources" not in account
    assert "L'accord a pris fin le" in account


def test_expired_card_on_home_and_account(portal):
    assert portal.login().status_code == 302
    with portal.session() as s:
        portal.patron(s, "V0001").card_expires = date(2020, 1, 31)
    home = _html(portal.client.get("/"))
    assert 'data-reason="card_invalid"' in home and "Votre carte de bibliothèque est expirée" in home
    assert 'href="/refusal/card_invalid?detail=expired"' in home
    account = _html(portal.client.get("/account"))
    assert "Votre carte n'est pas valide" in account
    assert "Vous pouvez utiliser toutes les ressources" not in account


def test_active_patron_keeps_the_plain_buttons(portal):
    assert portal.login().status_code == 302
    home = _html(portal.client.get("/"))
    assert 'aria-label="Accéder à Cafeyn"' in home and "Pas accessible" not in home
    assert "Choisissez une ressource" in home


def test_anonymous_buttons_say_the_card_comes_first(portal):
    home = _html(portal.client.get("/"))
    assert 'aria-describedby="login-first"' in home
    assert "vous demande d'abord votre carte de bibliothèque" in home


def test_deep_link_login_names_the_resource(portal):
    answer = portal.client.get("/go/cafeyn?target=/article/42")
    assert answer.status_code == 302
    html = _html(portal.client.get(answer.headers["Location"]))
    assert "Connectez-vous pour accéder à Cafeyn." in html
    assert "<title>Se connecter – Cafeyn" in html
    en = _html(portal.client.get(answer.headers["Location"] + "&lang=en"))
    assert "Log in to reach Cafeyn." in en
    # a next that is not a resource names nothing
    assert "Connectez-vous pour accéder" not in _html(portal.client.get("/login?next=/account"))
    assert "Connectez-vous pour accéder" not in _html(portal.client.get("/login?next=/go/nothing-here"))


def test_refused_login_is_titled_connexion_impossible(portal):
    html = _html(portal.login(password="0000"))
    assert '<h2 id="error-summary-title">Connexion impossible</h2>' in html
    empty = _html(portal.client.post("/login", data={"csrf_token": portal.csrf(), "library": "", "card": "",
                                                     "password": ""}))
    assert "Le formulaire n'a pas pu être envoyé" in empty  # field errors keep the form's wording


@pytest.mark.parametrize("actor, shown", [("referent@vire.example.org", True), ("system", False),
                                          ("cli", False), ("demo", False)])
def test_referent_note_only_from_a_person(portal, actor, shown):
    assert portal.login().status_code == 302
    _change(portal, Transition.SUSPEND, "motif écrit", actor=actor)
    with portal.session() as s:
        membership = portal.patron(s, "V0001").membership
        note, at = standing.referent_note(s, membership)
    assert (note == "motif écrit") is shown and at is not None


def test_french_names_are_marked_french_on_english_pages(portal):
    assert portal.login().status_code == 302
    home = portal.client.get("/?lang=en").get_data(as_text=True)
    assert '<h3><span lang="fr">Cafeyn</span></h3>' in home
    account = portal.client.get("/account?lang=en").get_data(as_text=True)
    assert '<span lang="fr">Cafeyn</span>' in account
    french = portal.client.get("/account?lang=fr").get_data(as_text=True)
    assert 'lang="fr">Cafeyn' not in french
