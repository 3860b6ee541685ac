"""The first hour of a patron and of a referent, in a real browser, each key step photographed.

The screens in docs/screens/ (walked through in docs/first-hour.md) come from this test:
``scripts/first-hour-screens.sh`` runs it with ``SESAME_SCREENS_DIR=docs/screens``. Without that
variable the pictures go to the test's temporary folder, and the journey is checked all the same.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from fixtures.staff import membership_id, state_of

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]
BAYEUX = "FR-140476101"
PATRON = ("29001000000017", "1234")  # Camille Martin, an active member
PENDING = "29001000000025"  # Lucas Bernard, imported: his card number was not kept
REFERENT = ("referent@bayeux.example.org", "demo-referent-2026")
REASON = "Carte signalée perdue au guichet : passez à l'accueil"
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1024, "height": 768}


@pytest.fixture
def live_demo(serve_demo, smtp_sink):
    """The demo (its SIP2 libraries on the emulator, the demo suppliers on) served on a free port."""
    return serve_demo(sip2="online", **smtp_sink.settings)


@pytest.fixture
def shots(tmp_path):
    folder = Path(os.environ.get("SESAME_SCREENS_DIR") or tmp_path / "screens")
    folder.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> None:
        page.screenshot(path=str(folder / f"{name}.png"), full_page=False)

    return take


def _context(browser, viewport):
    return browser.new_context(viewport=viewport, locale="fr-FR",
                               extra_http_headers={"Accept-Language": "fr-FR,fr;q=0.9"})


def test_first_hour_of_a_patron_and_a_referent(live_demo, browser, shots, axe_check):
    base, app = live_demo
    patron_ctx, staff_ctx = _context(browser, PHONE), _context(browser, DESK)
    try:
        # -- the patron, on a phone
        patron = patron_ctx.new_page()
        patron.goto(f"{base}/libraries")
        patron.get_by_role("searchbox").fill("Bayeux")
        expect(patron.locator("#library-results")).to_contain_text("Les 7 Lieux")
        shots(patron, "01-patron-library-choice")
        patron.goto(f"{base}/login?library={BAYEUX}")
        patron.get_by_label("Numéro de carte").fill(PATRON[0])
        patron.get_by_label("Mot de passe ou code PIN").fill(PATRON[1])
        shots(patron, "02-patron-login")
        patron.get_by_role("button", name="Se connecter").click()
        expect(patron.locator("h2#status-title")).to_have_text("Bonjour Camille Martin")
        shots(patron, "03-patron-catalogue")
        patron.get_by_role("link", name="Accéder à Démo SAML – fournisseur de test").click()
        expect(patron.locator(".lead")).to_contain_text("Connexion réussie")
        expect(patron.locator("#missing")).to_contain_text("votre numéro de carte")
        shots(patron, "04-patron-supplier-received")
        patron.locator("#missing").scroll_into_view_if_needed()
        shots(patron, "05-patron-supplier-not-received")
        patron.goto(f"{base}/account")
        shots(patron, "06-patron-account")

        # -- the referent, at the desk
        desk = staff_ctx.new_page()
        desk.goto(f"{base}/staff/")
        desk.get_by_label("Adresse e-mail").fill(REFERENT[0])
        desk.get_by_label("Mot de passe").fill(REFERENT[1])
        shots(desk, "07-referent-login")
        desk.keyboard.press("Enter")
        desk.wait_for_url(f"{base}/staff/")
        desk.goto(f"{base}/staff/libraries/{BAYEUX}/queue")
        expect(desk.locator("#sigb-progress")).to_contain_text("terminée")
        pending = membership_id(app, BAYEUX, PENDING)
        row = desk.locator(f"#m{pending}")
        row.get_by_label("Numéro de carte (se terminant par 0025)").fill(PENDING)
        row.get_by_role("button", name="Vérifier dans le SIGB").click()
        row = desk.locator(f"#m{pending}")
        expect(row).to_contain_text("Carte valide")
        row.scroll_into_view_if_needed()
        shots(desk, "08-referent-queue")
        axe_check(desk, "pending queue")
        row.get_by_role("button", name="Valider …0025", exact=True).click()
        expect(desk.get_by_text("Inscription validée")).to_be_visible()
        shots(desk, "09-referent-validated")
        assert state_of(app, pending) == "active"

        member = membership_id(app, BAYEUX, PATRON[0])
        desk.goto(f"{base}/staff/memberships/{member}")
        desk.get_by_label("Motif de la suspension (envoyé à l'usager)").fill(REASON)
        desk.get_by_role("button", name="Suspendre l'accès").click()
        expect(desk.get_by_text("Accès suspendu").first).to_be_visible()
        shots(desk, "10-referent-suspended")
        assert state_of(app, member) == "suspended"

        # -- the patron sees why
        patron.goto(f"{base}/account")
        expect(patron.locator("main")).to_contain_text(REASON)
        shots(patron, "11-patron-sees-the-reason")
        axe_check(patron, "account, suspended")
    finally:
        patron_ctx.close()
        staff_ctx.close()
