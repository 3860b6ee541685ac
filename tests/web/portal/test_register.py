"""Online registration: the SIGB proves the card first; nothing is stored when it does not."""

from __future__ import annotations

import re

from broker.domain.memberships import Transition
from broker.services import memberships

VIRE = "FR-147626101"
HONFLEUR = "FR-143336101"


def _subjects(portal) -> list[str]:
    return [m["Subject"] for m in portal.smtp.messages]


def test_referent_library_registration_is_pending_and_confirmed_by_mail(portal):
    response = portal.register(email="thomas.g@example.org")
    assert response.status_code == 302
    assert response.headers["Location"] == "/account"
    with portal.session() as s:
        patron = portal.patron(s, "V0002")
        assert patron.membership.state == "pending"
        assert patron.membership.consent_at is not None
        assert patron.email == "thomas.g@example.org"
    page = portal.client.get("/account").get_data(as_text=True)
    assert "En attente de validation" in page
    assert "Inscription en ligne" in page
    [mail] = portal.smtp.messages
    assert mail["To"] == "thomas.g@example.org"
    assert "Nous avons reçu votre inscription" in mail["Subject"]
    assert "Médiathèque de Vire" in mail.get_content()


def test_referent_validation_then_login_then_access(portal):
    portal.register()
    portal.client.post("/logout", data={"csrf_token": portal.csrf("/account")})
    with portal.session() as s:
        memberships.change(portal.runtime, s, portal.patron(s, "V0002").membership, Transition.APPROVE,
                           actor="referent@vire.example.org")
    assert any("validée" in subject for subject in _subjects(portal))
    assert portal.login(card="V0002").status_code == 302
    assert "Active" in portal.client.get("/account").get_data(as_text=True)
    assert portal.client.get("/go/cafeyn").status_code == 200


def test_auto_library_registration_is_active_at_once(portal):
    portal.add_local_patron(HONFLEUR, "H0001", pin="5678")
    response = portal.register(card="H0001", password="5678", library=HONFLEUR, email="alex@example.org")
    assert response.status_code == 302
    with portal.session() as s:
        assert portal.patron(s, "H0001", HONFLEUR).membership.state == "active"
    [mail] = portal.smtp.messages
    assert "validée" in mail["Subject"]
    assert portal.client.get("/go/cafeyn").status_code == 200


def test_wrong_password_stores_nothing(portal):
    before = portal.counts()
    response = portal.register(password="0000")
    assert response.status_code == 400
    assert "Numéro de carte ou mot de passe incorrect" in response.get_data(as_text=True)
    assert portal.counts() == before
    assert portal.smtp.messages == []
    unknown = portal.register(card="NOBODY", password="0000")
    assert unknown.status_code == 400 and portal.counts() == before


def test_duplicate_registration_is_refused_clearly(portal):
    before = portal.counts()
    response = portal.register(card="V0001", email="sarah@example.org")
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "Cette carte est déjà inscrite" in html
    assert f'href="/login?library={VIRE}"' in html
    assert portal.counts() == before
    with portal.session() as s:
        assert portal.patron(s, "V0001").email == "sarah.fontaine@example.org"


def test_refused_patron_may_register_again(portal):
    portal.register()
    portal.set_state("V0002", "refused")
    client = portal.app.test_client()
    assert portal.register(client=client).status_code == 302
    with portal.session() as s:
        assert portal.patron(s, "V0002").membership.state == "pending"


def test_post_without_csrf_is_refused_and_stores_nothing(portal):
    before = portal.counts()
    response = portal.client.post("/register", data={"library": VIRE, "card": "V0002", "password": "4321",
                                                      "email": "t@example.org", "consent": "yes"})
    assert response.status_code == 400
    assert portal.counts() == before


def test_consent_is_required(portal):
    before = portal.counts()
    response = portal.register(consent=False)
    assert response.status_code == 400
    assert 'id="consent-error"' in response.get_data(as_text=True)
    assert portal.counts() == before


def test_script_in_email_and_card_is_escaped(portal):
    before = portal.counts()
    evil = '"><script>alert(1)</script>'
    response = portal.register(card="V0002" + evil, email=f"x{evil}@example.org")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'id="email-error"' in html
    assert portal.counts() == before


def test_oversized_fields_are_refused_not_crashed(portal):
    response = portal.register(card="1" * 10_000, email="a" * 300 + "@example.org", password="p" * 10_000)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    for field in ("card", "email", "password"):
        assert f'id="{field}-error"' in html


def test_expired_card_cannot_register(portal):
    portal.add_local_patron(VIRE, "V0077", expires="2021-06-30")
    before = portal.counts()
    response = portal.register(card="V0077", password="1234")
    assert response.status_code == 403
    assert "expirée" in response.get_data(as_text=True)
    assert portal.counts() == before


def test_unknown_library_is_a_field_error(portal):
    response = portal.register(library="FR-999")
    assert response.status_code == 400
    assert 'id="library-error"' in response.get_data(as_text=True)


def test_form_preselects_library_and_links_terms(portal):
    html = portal.client.get(f"/register?library={HONFLEUR}").get_data(as_text=True)
    assert f'<option value="{HONFLEUR}" selected>' in html
    assert 'href="/terms"' in html and 'href="/privacy"' in html
    assert re.search(r'<input type="checkbox" id="consent" name="consent" value="yes" required', html)
    assert 'autocomplete="email"' in html
