"""A network admin manages a library in a real browser: the settings form, a card test, disabling it.

Each page passes the axe-core check (and the page fixture fails on any CSP violation).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from fixtures.browser import login_admin
from fixtures.staff import ADMIN, BAYEUX, audit_rows


@pytest.mark.browser
@pytest.mark.xdist_group("browser")
def test_admin_edits_tests_a_card_and_disables_a_library(admin_site, page, screenshot, axe_check):
    app, url = admin_site
    login_admin(page, url)
    page.get_by_role("link", name="Bibliothèques", exact=True).click()
    page.wait_for_url(f"{url}/staff/libraries")
    assert page.get_by_role("heading", level=1).inner_text() == "Bibliothèques du réseau"
    axe_check(page, "libraries")
    screenshot(page, "libraries-1-list")

    page.get_by_role("link", name="Médiathèque Les 7 Lieux").click()
    page.wait_for_url(f"{url}/staff/libraries/{BAYEUX}/edit")
    assert "Défini" in page.locator("#s-password-state").inner_text()
    axe_check(page, "library")

    page.get_by_label("Numéro de carte").fill("29001000000017")
    page.get_by_label("Mot de passe ou code (facultatif)").fill("1234")
    page.get_by_role("button", name="Tester la carte").click()
    assert page.locator("#check-result").get_attribute("data-reason") == "ok"
    assert "29001000000017" not in page.content()
    axe_check(page, "card test")
    screenshot(page, "libraries-2-card-test")

    page.locator("#s-port").fill("abc")
    page.get_by_role("button", name="Enregistrer").click()
    assert page.locator("#s-port").get_attribute("aria-invalid") == "true"
    expect(page.locator("#s-port-error")).to_be_visible()
    axe_check(page, "library with an error")

    page.goto(f"{url}/staff/libraries/{BAYEUX}/edit")
    page.get_by_role("button", name="Désactiver").click()
    assert "Désactivée" in page.locator("dl.facts").inner_text()
    axe_check(page, "disabled library")
    screenshot(page, "libraries-3-disabled")
    assert [e[1] for e in audit_rows(app) if e[0] == ADMIN[0] and e[2] == BAYEUX and e[1].startswith("library.")] == \
        ["library.check", "library.disable"]


@pytest.mark.browser
@pytest.mark.xdist_group("browser")
def test_admin_reads_the_keys_page(admin_site, page, screenshot, axe_check):
    app, url = admin_site
    store = app.extensions["broker"].key_store
    current = store.current("saml-signing")
    store.current("oidc-rs256")
    login_admin(page, url)
    page.get_by_role("link", name="Clés", exact=True).click()
    page.wait_for_url(f"{url}/staff/keys")
    table = page.get_by_role("table", name="Clés de l'instance")
    assert current.kid in table.inner_text() and "SHA-256 " in table.inner_text()
    assert page.locator("main form").count() == 0
    found = axe_check(page, "keys")
    assert not found, found
    screenshot(page, "keys")
