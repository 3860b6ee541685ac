"""The patron's account: state and history, contact, what suppliers receive, export, closing."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from broker.db.models import UsageEvent

VIRE = "FR-147626101"
BAYEUX = "FR-140476101"


def test_account_needs_a_login(portal):
    response = portal.client.get("/account")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2Faccount"
    assert portal.client.get("/account/export").status_code == 302
    assert portal.client.get("/account/close").status_code == 302


def test_account_shows_state_history_library_and_releases(portal):
    with portal.session() as s:
        from broker.services import libraries

        lib = libraries.get_library(s, VIRE)
        lib.contact_email = "numerique@vire.example.org"
        lib.contact_phone = "02 31 00 00 00"
    portal.login()
    response = portal.client.get("/account")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    assert "Active" in html
    assert "Reprise d&#39;une inscription existante" in html  # the import, from the demo
    assert "Médiathèque de Vire" in html
    assert 'href="mailto:numerique@vire.example.org"' in html
    assert 'href="tel:0231000000"' in html
    assert "un identifiant pseudonyme propre à ce fournisseur" in html
    assert "Cafeyn" in html and "Vodeclic" in html
    assert "se terminant par 0001" in html
    assert "V0001" not in html


def test_account_in_english(portal):
    portal.login()
    html = portal.client.get("/account?lang=en").get_data(as_text=True)
    assert "My account" in html
    assert "a pseudonymous identifier" in html
    assert portal.client.get_cookie("lang").value == "en"


def test_history_shows_decisions_with_reasons(portal):
    portal.register()
    from broker.domain.memberships import Transition
    from broker.services import memberships

    with portal.session() as s:
        membership = portal.patron(s, "V0002").membership
        memberships.change(portal.runtime, s, membership, Transition.APPROVE, actor="ref@vire.example.org")
        memberships.change(portal.runtime, s, membership, Transition.SUSPEND, actor="ref@vire.example.org",
                           reason="<b>Retards</b> répétés")
    html = portal.client.get("/account").get_data(as_text=True)
    assert "Accès suspendu" in html and "Inscription validée" in html
    assert "&lt;b&gt;Retards&lt;/b&gt; répétés" in html
    assert "ref@vire.example.org" not in html  # staff are "your library"
    assert "Suspendue" in html


def test_export_holds_everything(portal):
    portal.login()
    portal.client.get("/go/cafeyn")  # granted: no login_url in the demo, so no usage event
    portal.set_state("V0001", "suspended")
    portal.client.get("/go/cafeyn")
    portal.client.get("/go/cafeyn")
    portal.client.get("/go/pnb")
    response = portal.client.get("/account/export")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    data = json.loads(response.get_data(as_text=True))
    assert data["patron"]["display_name"] == "Sarah Fontaine"
    assert data["patron"]["email"] == "sarah.fontaine@example.org"
    assert data["patron"]["birth_year"] == 1987
    assert data["library"]["code"] == VIRE
    assert data["membership"]["state"] == "suspended"
    assert data["membership"]["history"][0]["to"] == "active"
    usage = {row["supplier"]: (row["granted"], row["refused"]) for row in data["usage"]["per_month_and_supplier"]}
    assert usage == {"cafeyn": (0, 2), "pnb": (0, 1)}
    cafeyn = next(s for s in data["suppliers"] if s["slug"] == "cafeyn")
    assert cafeyn["released_when_access_is_granted"]["eduPersonEntitlement"]
    assert "V0001" not in response.get_data(as_text=True)


def test_close_account_erases_and_logs_out(portal):
    portal.login()
    portal.set_state("V0001", "suspended")
    portal.client.get("/go/cafeyn")  # one refused usage event to keep
    page = portal.client.get("/account/close")
    assert page.status_code == 200
    token = portal.csrf("/account/close")
    unconfirmed = portal.client.post("/account/close", data={"csrf_token": token})
    assert unconfirmed.status_code == 400
    assert 'id="confirm-error"' in unconfirmed.get_data(as_text=True)
    closed = portal.client.post("/account/close", data={"csrf_token": token, "confirm": "yes"})
    assert closed.status_code == 302 and closed.headers["Location"] == "/account/closed"
    assert "Votre compte est fermé" in portal.client.get("/account/closed").get_data(as_text=True)
    assert portal.client.get("/account").status_code == 302
    with portal.session() as s:
        assert portal.patron(s, "V0001") is None  # the card no longer leads to anyone
        from broker.db.models import Patron

        erased = s.scalar(select(Patron).where(Patron.erased_at.is_not(None)))
        assert erased.display_name is None and erased.email is None and erased.birth_year is None
        assert erased.card_hint == ""
        assert erased.membership.state == "closed"
        assert s.scalar(select(func.count()).select_from(UsageEvent)) == 1
    assert any("fermé" in m["Subject"] for m in portal.smtp.messages)
    # the card still works at the library, but the patron is no longer registered
    assert portal.login().status_code == 403


def test_close_without_csrf_is_refused(portal):
    portal.login()
    response = portal.client.post("/account/close", data={"confirm": "yes"})
    assert response.status_code == 400
    with portal.session() as s:
        assert portal.patron(s, "V0001").erased_at is None


def test_closed_patron_can_register_again(portal):
    portal.login()
    portal.client.post("/account/close", data={"csrf_token": portal.csrf("/account/close"), "confirm": "yes"})
    assert portal.register(card="V0001", email="sarah@example.org").status_code == 302
    with portal.session() as s:
        assert portal.patron(s, "V0001").membership.state == "pending"
