"""A patron in a real browser: choose a library, register, get validated, log in, use the catalogue and account.

Every page on the way passes axe-core (no serious or critical violation) and the journey is
saved as screenshots under tests/artifacts/.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from broker.domain.memberships import Transition
from broker.services import libraries, memberships, patrons

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]
VIRE = "FR-147626101"


def test_patron_journey(live_server, page, axe_check, screenshot):
    base = live_server.url
    page.goto(base + "/")
    expect(page.locator("h1")).to_contain_text("Ressources numériques")
    axe_check(page, "catalogue, no library yet")
    screenshot(page, "1-home")

    # choose a library with the plain form (the script refreshes results as one types)
    page.get_by_label("Trouvez votre bibliothèque").fill("vire")
    page.get_by_role("button", name="Rechercher").click()
    expect(page).to_have_url(re.compile(r"/libraries\?q=vire"))
    axe_check(page, "library search")
    page.get_by_role("button", name=re.compile("Médiathèque de Vire")).click()
    expect(page.locator(".flash-success")).to_contain_text("Médiathèque de Vire")
    expect(page.locator("header")).to_contain_text("La Boîte numérique")

    # register: the SIGB checks the card, the library validates later
    page.get_by_role("link", name="S'inscrire").first.click()
    expect(page.get_by_label("Votre bibliothèque")).to_have_value(VIRE)
    axe_check(page, "registration form")
    page.get_by_label("Numéro de carte").fill("V0002")
    page.get_by_label("Mot de passe ou code PIN de la bibliothèque").fill("4321")
    page.get_by_label("Adresse e-mail").fill("thomas.garnier@example.org")
    page.get_by_label(re.compile("J'accepte les conditions")).check()
    screenshot(page, "2-register")
    page.get_by_role("button", name="M'inscrire").click()
    expect(page).to_have_url(base + "/account")
    expect(page.locator(".state")).to_have_text("En attente de validation")
    axe_check(page, "account, pending")
    screenshot(page, "3-account-pending")
    assert "Nous avons reçu votre inscription" in live_server.smtp.messages[-1]["Subject"]

    # the referent validates (the back-office is tested on its own)
    runtime = live_server.runtime
    with runtime.db.session() as s:
        patron = patrons.find(runtime, s, libraries.get_library(s, VIRE), "V0002")
        memberships.change(runtime, s, patron.membership, Transition.APPROVE, actor="referent@vire.example.org")
    assert "validée" in live_server.smtp.messages[-1]["Subject"]

    # log out, then log in again
    page.get_by_role("navigation", name="Menu principal").get_by_role("button", name="Se déconnecter").click()
    expect(page.locator("h1")).to_have_text("Vous êtes déconnecté ou déconnectée")
    page.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Se connecter").click()
    axe_check(page, "login form")
    page.get_by_label("Numéro de carte").fill("V0002")
    page.get_by_label("Mot de passe ou code PIN").fill("4321")
    page.get_by_role("button", name="Se connecter").click()
    expect(page.locator("h2#status-title")).to_have_text("Bonjour Thomas Garnier")
    axe_check(page, "catalogue, logged in")
    screenshot(page, "4-catalogue")

    # a resource: granted (the demo supplier has no address yet, so an explanation page)
    page.get_by_role("link", name="Accéder à Cafeyn").click()
    expect(page.locator("h1")).to_have_text("Cafeyn")
    axe_check(page, "resource without address")

    page.goto(base + "/account")
    expect(page.locator(".state")).to_have_text("Active")
    expect(page.get_by_role("heading", name="Ce que reçoit chaque fournisseur")).to_be_visible()
    page.set_viewport_size({"width": 320, "height": 640})
    assert _reflows(page), "the account page scrolls sideways at 320 px"
    axe_check(page, "account, active")
    screenshot(page, "5-account-active")


def test_library_suggestions_while_typing(live_server, page, axe_check):
    page.goto(live_server.url + "/libraries")
    page.get_by_label("Nom de la bibliothèque ou commune").press_sequentially("cond", delay=30)
    expect(page.locator("#library-results")).to_contain_text("Condé-en-Normandie")
    expect(page.locator("#library-count")).to_contain_text("trouvée")
    assert "q=cond" not in page.url  # nothing was submitted
    axe_check(page, "library suggestions")
    page.get_by_role("button", name=re.compile("Condé-en-Normandie")).click()
    expect(page.locator("header")).to_contain_text("La Boîte numérique")


def test_keyboard_only_login(live_server, page):
    page.goto(f"{live_server.url}/login?library={VIRE}")
    page.keyboard.press("Tab")
    skip = page.locator(":focus")
    expect(skip).to_have_text("Aller au contenu")
    page.keyboard.press("Enter")
    expect(page.locator(":focus")).to_have_id("main")
    seen = []
    for _ in range(12):
        page.keyboard.press("Tab")
        focused = page.evaluate("""() => { const e = document.activeElement;
            const s = getComputedStyle(e);
            return {id: e.id, tag: e.tagName, outline: s.outlineStyle, width: s.outlineWidth}; }""")
        assert focused["outline"] != "none" and focused["width"] != "0px", f"no visible focus on {focused}"
        seen.append(focused["id"] or focused["tag"])
        if focused["id"] == "card":
            break
    assert seen[-1] == "card", f"the card field is not reachable by keyboard: {seen}"
    assert "library" in seen  # the library list comes before the card
    page.keyboard.type("V0001")
    page.keyboard.press("Tab")
    page.keyboard.type("4321")
    page.keyboard.press("Enter")
    expect(page.locator("h2#status-title")).to_have_text("Bonjour Sarah Fontaine")


def test_errors_are_announced_and_focused(live_server, page, axe_check):
    page.goto(f"{live_server.url}/login?library={VIRE}")
    page.get_by_label("Numéro de carte").fill("V0001")
    page.get_by_label("Mot de passe ou code PIN").fill("wrong")
    page.get_by_role("button", name="Se connecter").click()
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_have_attribute("role", "alert")
    expect(summary).to_contain_text("Numéro de carte ou mot de passe incorrect")
    axe_check(page, "login with an error")
    page.get_by_label("Numéro de carte").fill("")
    page.get_by_role("button", name="Se connecter").click()
    expect(page.locator("#card")).to_have_attribute("aria-invalid", "true")
    axe_check(page, "login with field errors")


def _reflows(page) -> bool:
    """WCAG 1.4.10: at 320 CSS pixels nothing but the history table's own region scrolls sideways."""
    return page.evaluate("() => document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def test_information_and_refusal_pages_are_accessible(live_server, page, axe_check):
    page.set_viewport_size({"width": 320, "height": 640})
    for path in ("/", "/terms", "/privacy", "/accessibility", "/refusal/membership_suspended", "/logout",
                 "/libraries?all=1", "/register?lang=en", "/refusal/age?lang=en"):
        page.goto(live_server.url + path)
        axe_check(page, path)
        assert _reflows(page), f"{path} scrolls sideways at 320 px"


def test_refusal_in_the_browser_names_the_library(live_server, page, axe_check, screenshot):
    with live_server.runtime.db.session() as s:
        patron = patrons.find(live_server.runtime, s, libraries.get_library(s, VIRE), "V0001")
        patron.membership.state = "suspended"
    page.goto(f"{live_server.url}/go/pnb")
    page.get_by_label("Votre bibliothèque").select_option(VIRE)
    page.get_by_label("Numéro de carte").fill("V0001")
    page.get_by_label("Mot de passe ou code PIN").fill("4321")
    page.get_by_role("button", name="Se connecter").click()
    expect(page.locator("h1")).to_have_text("Votre accès est suspendu")
    expect(page.locator(".contact")).to_contain_text("Médiathèque de Vire")
    axe_check(page, "refusal after login")
    screenshot(page, "refusal")


def test_desktop_layout_and_english(live_server, browser, axe_check):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page = context.new_page()
    try:
        page.goto(live_server.url + "/?lang=en")
        expect(page.locator("h1")).to_contain_text("Online resources")
        expect(page.get_by_role("link", name="Open Cafeyn")).to_be_visible()
        axe_check(page, "catalogue in English")
        page.goto(live_server.url + "/login")  # the language is remembered
        expect(page.locator("h1")).to_have_text("Log in")
    finally:
        context.close()
