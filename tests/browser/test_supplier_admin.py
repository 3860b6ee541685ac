"""A network admin registers and runs suppliers in a real browser: each protocol's form, errors beside the field,
the OIDC secret shown once, the CAS pattern test, the release policy and its preview, disabling.

Each page passes the axe-core check (and the page fixture fails on any CSP violation).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from fixtures.browser import login_admin
from fixtures.staff import ADMIN, VIRE_LIB, audit_rows
from fixtures.suppliers import active_membership, sp_metadata


@pytest.mark.browser
@pytest.mark.xdist_group("browser")
def test_admin_registers_saml_and_oidc_suppliers(admin_site, page, screenshot, axe_check, tmp_path):
    app, url = admin_site
    login_admin(page, url)
    page.get_by_role("link", name="Fournisseurs", exact=True).click()
    page.wait_for_url(f"{url}/staff/suppliers")
    assert page.get_by_role("heading", level=1).inner_text() == "Fournisseurs"
    table = page.get_by_role("table", name="Fournisseurs de vos réseaux").inner_text()
    assert "Cafeyn" in table and "Actif" in table
    axe_check(page, "suppliers")
    screenshot(page, "suppliers-1-list")

    page.get_by_role("link", name="Ajouter un fournisseur").click()
    page.wait_for_url(f"{url}/staff/suppliers/new")
    bad = tmp_path / "no-acs.xml"
    bad.write_text(sp_metadata("numilog", acs=False))
    page.get_by_label("Nom", exact=True).fill("Numilog")
    page.get_by_label("Identifiant").fill("numilog")
    page.get_by_label("Fichier de métadonnées (XML)").set_input_files(str(bad))
    page.get_by_role("button", name="Ajouter le fournisseur").click()
    assert "AssertionConsumerService" in page.locator("#s-metadata-error").inner_text()
    assert page.locator("#s-metadata").get_attribute("aria-invalid") == "true"
    axe_check(page, "new SAML supplier with an error")
    screenshot(page, "suppliers-2-bad-metadata")
    good = tmp_path / "sp.xml"
    good.write_text(sp_metadata("numilog"))
    page.get_by_label("Fichier de métadonnées (XML)").set_input_files(str(good))
    page.get_by_role("button", name="Ajouter le fournisseur").click()
    page.wait_for_url(f"{url}/staff/suppliers/numilog")
    assert "https://numilog.example.org/shibboleth" in page.locator("dl.facts").first.inner_text()
    axe_check(page, "SAML supplier page")
    screenshot(page, "suppliers-3-saml")

    page.goto(f"{url}/staff/suppliers/new")
    page.get_by_role("link", name="OpenID Connect").click()
    page.get_by_label("Nom", exact=True).fill("Lecture+")
    page.get_by_label("Identifiant").fill("lectureplus")
    page.get_by_label("Adresses de retour (redirect_uri)").fill("https://lecture.example.org/callback")
    page.get_by_role("button", name="Ajouter le fournisseur").click()
    secret = page.locator("#client-secret").inner_text()
    assert len(secret) > 30 and "n'est affiché qu'une fois" in page.content()
    axe_check(page, "OIDC secret shown once")
    page.get_by_role("link", name="Aller à la page du fournisseur").click()
    assert secret not in page.content()
    page.get_by_label("Délai de grâce de l'ancien secret (jours)").fill("3")
    page.get_by_role("button", name="Changer le secret").click()
    assert page.locator("#client-secret").inner_text() != secret
    page.get_by_role("link", name="Aller à la page du fournisseur").click()
    expect(page.locator("#grace")).to_be_visible()
    axe_check(page, "OIDC supplier page in a grace period")
    screenshot(page, "suppliers-4-oidc")
    actions = [e[1] for e in audit_rows(app) if e[0] == ADMIN[0] and e[1].startswith("supplier.")]
    assert actions == ["supplier.add", "supplier.saml", "supplier.add", "supplier.oidc.rotate"]
    assert secret not in str(audit_rows(app))


@pytest.mark.browser
@pytest.mark.xdist_group("browser")
def test_admin_tests_cas_patterns_sets_a_release_previews_and_disables(admin_site, page, screenshot,
                                                                       axe_check):
    app, url = admin_site
    login_admin(page, url)
    page.goto(f"{url}/staff/suppliers/new?protocol=cas")
    page.get_by_label("Nom", exact=True).fill("Toutapprendre")
    page.get_by_label("Identifiant").fill("toutapprendre")
    page.get_by_label("Motifs d'adresse des services").fill(".*")
    page.get_by_role("button", name="Ajouter le fournisseur").click()
    assert "trop" in page.locator("#s-service_patterns-error").inner_text() or \
        "too broad" in page.locator("#s-service_patterns-error").inner_text()
    axe_check(page, "CAS pattern refused")
    page.get_by_label("Motifs d'adresse des services").fill(r"^https://www\.toutapprendre\.example\.org/.*$")
    page.get_by_label("Adresse d'exemple à tester").fill("https://www.toutapprendre.example.org/sso")
    page.get_by_role("button", name="Tester les motifs").click()
    assert page.locator("#cas-test-result").get_attribute("data-match") == "yes"
    axe_check(page, "CAS pattern test")
    screenshot(page, "suppliers-5-cas-test")
    page.get_by_role("button", name="Ajouter le fournisseur").click()
    page.wait_for_url(f"{url}/staff/suppliers/toutapprendre")

    page.get_by_role("group", name="Attributs transmis à Toutapprendre").get_by_label("Réseau").uncheck()
    page.get_by_role("button", name="Enregistrer les attributs").click()
    assert not page.get_by_role("group", name="Attributs transmis à Toutapprendre").get_by_label("Réseau").is_checked()
    page.get_by_label("Numéro d'inscription").fill(str(active_membership(app, VIRE_LIB)))
    page.get_by_role("button", name="Prévisualiser").click()
    result = page.locator("#preview-result")
    assert result.get_attribute("data-granted") == "yes"
    assert VIRE_LIB in result.inner_text() and "network" not in result.inner_text()
    axe_check(page, "release preview")
    screenshot(page, "suppliers-6-preview")

    page.get_by_role("button", name="Désactiver").click()
    assert "Désactivé" in page.locator("#supplier-state").inner_text()
    axe_check(page, "disabled supplier")
    page.goto(f"{url}/go/toutapprendre")
    assert page.get_by_role("heading", level=1).inner_text() == "Ressource suspendue par le réseau"
    axe_check(page, "suspended resource for patrons")
    screenshot(page, "suppliers-7-suspended")


@pytest.mark.browser
@pytest.mark.xdist_group("browser")
def test_supplier_pages_reflow_on_a_phone(admin_site, page, screenshot, axe_check):
    """At 390 px the list, a form with a refused value and a supplier's page scroll down only, never sideways."""
    app, url = admin_site
    page.set_viewport_size({"width": 390, "height": 800})
    login_admin(page, url)
    sideways = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    page.goto(f"{url}/staff/suppliers")
    assert page.evaluate(sideways) <= 0, "the suppliers list scrolls sideways"
    page.goto(f"{url}/staff/suppliers/new?protocol=cas")
    page.get_by_label("Nom", exact=True).fill("Toutapprendre")
    page.get_by_label("Identifiant").fill("saml")  # a name the routes use: refused beside the field
    page.get_by_label("Motifs d'adresse des services").fill(r"^https://www\.toutapprendre\.example\.org/.*$")
    page.get_by_role("button", name="Ajouter le fournisseur").click()
    expect(page.locator("#slug-error")).to_be_visible()
    assert page.evaluate(sideways) <= 0, "the form with an error scrolls sideways"
    axe_check(page, "CAS form refused on a phone")
    screenshot(page, "suppliers-phone-form-error")
    page.goto(f"{url}/staff/suppliers/cafeyn")
    assert page.evaluate(sideways) <= 0, "a supplier's page scrolls sideways"
    axe_check(page, "supplier page on a phone")
