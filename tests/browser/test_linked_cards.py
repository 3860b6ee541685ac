"""/account/cards and the refusal page of a person with linked cards, in Chromium: axe-clean, usable on a phone."""

from __future__ import annotations

import shutil

import pytest
from playwright.sync_api import expect

from fixtures.demo import open_supplier

BAYEUX, CAMILLE, LEA = "FR-140476101", "29001000000017", "29001000000058"
CAEN, LOUIS = "FR-141186001", "29003000000015"


@pytest.fixture
def base(make_app, smtp_sink, demo_db, tmp_path, serve_app):
    copy = tmp_path / "live.db"
    shutil.copy(demo_db(sip2="online"), copy)
    app = make_app(database_url=f"sqlite:///{copy}", plugins_load_entrypoints=False, **smtp_sink.settings)
    app.config["TESTING"] = False
    runtime = app.extensions["broker"]
    # both cards already used Cafeyn: the page will ask which history to keep
    for library, card in ((BAYEUX, CAMILLE), (CAEN, LOUIS)):
        assert open_supplier(runtime, library, card).granted
    return serve_app(app)


def login(page, base, library, card):
    page.goto(f"{base}/login?library={library}")
    page.get_by_label("Numéro de carte").fill(card)
    page.get_by_label("Mot de passe ou code PIN").fill("1234")
    page.get_by_role("button", name="Se connecter").click()


def reflows(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def test_cards_page(base, page, axe_check):
    page.set_viewport_size({"width": 320, "height": 640})
    login(page, base, BAYEUX, CAMILLE)
    page.goto(f"{base}/account")
    page.get_by_role("link", name="Mes cartes : lier une carte d'une autre bibliothèque").click()
    expect(page.locator("h1")).to_have_text("Mes cartes")
    axe_check(page, "cards, one card")
    assert reflows(page)

    page.get_by_label("Votre bibliothèque").select_option(CAEN)
    page.get_by_label("Numéro de l'autre carte").fill(LOUIS)
    page.get_by_label("Mot de passe ou code PIN de cette carte").fill("0000")
    page.get_by_role("button", name="Lier cette carte").click()
    expect(page.locator("#error-summary")).to_contain_text("Numéro de carte ou mot de passe incorrect")
    axe_check(page, "cards, wrong password")

    page.get_by_label("Votre bibliothèque").select_option(CAEN)
    page.get_by_label("Mot de passe ou code PIN de cette carte").fill("1234")
    page.get_by_role("button", name="Lier cette carte").click()
    expect(page.get_by_role("heading", name="Mes 2 cartes liées")).to_be_visible()
    expect(page.get_by_role("heading", name="Quel historique garder ?")).to_be_visible()
    axe_check(page, "cards, two cards and a choice")
    assert reflows(page)
    page.get_by_label("L'historique de la carte Bibliothèque Alexis de Tocqueville se terminant par 0015",
                      exact=False).check()
    page.get_by_role("button", name="Garder cet historique").click()
    expect(page.locator(".flash")).to_contain_text("Votre choix est enregistré.")


def test_refusal_page_names_each_card(base, page, axe_check):
    page.set_viewport_size({"width": 320, "height": 640})
    login(page, base, BAYEUX, LEA)  # expired at Bayeux
    page.goto(f"{base}/account/cards")
    page.get_by_label("Votre bibliothèque").select_option(CAEN)
    page.get_by_label("Numéro de l'autre carte").fill(LOUIS)
    page.get_by_label("Mot de passe ou code PIN de cette carte").fill("1234")
    page.get_by_role("button", name="Lier cette carte").click()
    expect(page.get_by_role("heading", name="Mes 2 cartes liées")).to_be_visible()
    page.goto(f"{base}/go/vodeclic")
    expect(page.get_by_role("heading", name="Vos cartes liées")).to_be_visible()
    expect(page.locator(".refusal ul").first).to_contain_text("ressource non proposée par ce réseau")
    axe_check(page, "refusal, linked cards")
    # the list of cards wraps at 320 px (the library's contact block below is the page's own)
    assert page.evaluate("""() => [...document.querySelectorAll('.refusal ul')[0].querySelectorAll('*')]
        .every(e => e.getBoundingClientRect().right <= document.documentElement.clientWidth + 1)""")
