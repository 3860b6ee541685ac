"""A network admin in a real browser: partners and agreements, the year's fees, staff accounts, the network queue.

Each page passes the axe-core check; screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import pytest

from web.staff.staffkit import ADMIN, app_from_template, audit_rows, code, shared_template


@pytest.fixture
def admin_site(make_app, smtp_sink, tmp_path, tmp_path_factory, serve_app, sip2_emulator):
    template = shared_template(tmp_path_factory)
    app = app_from_template(make_app, template, tmp_path, sip2_port=sip2_emulator.port, **smtp_sink.settings)
    app.config["TESTING"] = False
    app.smtp = smtp_sink
    return app, serve_app(app)


def login_admin(page, url) -> str:
    page.goto(f"{url}/staff/login")
    page.get_by_label("Adresse électronique").fill(ADMIN[0])
    page.get_by_label("Mot de passe").fill(ADMIN[1])
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{url}/staff/login/enrol")
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    page.get_by_label("Code à six chiffres").fill(code(secret))
    page.get_by_role("button", name="Activer").click()
    page.wait_for_url(f"{url}/staff/")
    return secret


@pytest.mark.browser
@pytest.mark.xdist_group("browser")
def test_admin_adds_a_partner_amends_its_agreement_and_downloads_the_fees(admin_site, page, screenshot, axe_check):
    app, url = admin_site
    login_admin(page, url)
    page.get_by_role("link", name="Partenaires").click()
    page.wait_for_url(f"{url}/staff/partners")
    assert page.get_by_role("heading", level=1).inner_text() == "Partenaires et conventions"
    assert "Terminée" in page.get_by_role("table", name="Partenaires du réseau").inner_text()
    axe_check(page, "partners")
    screenshot(page, "1-partners")

    page.get_by_role("link", name="Ajouter un partenaire").click()
    page.get_by_label("Nom").fill("Commune de Falaise")
    page.get_by_label("Identifiant").fill("falaise")
    page.get_by_label("Population légale").fill("-8")
    page.get_by_label("Début").fill("2025-07-01")
    page.get_by_label("Fin", exact=True).fill("2027-06-30")
    page.get_by_role("button", name="Ajouter le partenaire").click()
    error = page.locator("#population-error")
    assert error.inner_text() == "La population ne peut pas être négative."
    assert page.get_by_label("Population légale").get_attribute("aria-invalid") == "true"
    axe_check(page, "new partner with an error")
    screenshot(page, "2-field-error")
    page.get_by_label("Population légale").fill("8128")
    page.get_by_role("button", name="Ajouter le partenaire").click()
    page.wait_for_url(f"{url}/staff/partners/falaise")
    assert page.get_by_text("Partenaire ajouté : Commune de Falaise.").is_visible()
    axe_check(page, "partner page")

    page.get_by_text("Enregistrer un avenant").first.click()
    form = page.locator("details[open] form")
    form.get_by_label("Nouvelle date de fin").fill("2028-06-30")
    form.get_by_label("Référence de l'avenant").fill("avenant n° 1")
    form.get_by_role("button", name="Enregistrer l'avenant").click()
    page.wait_for_url(f"{url}/staff/partners/falaise")
    history = page.locator("ol.history").inner_text()
    assert "Signature" in history and "Avenant" in history and "avenant n° 1" in history
    screenshot(page, "3-amended")
    axe_check(page, "partner after an amendment")

    page.get_by_role("link", name="Participations").click()
    page.get_by_label("Année").fill("2025")
    page.get_by_role("button", name="Afficher").click()
    table = page.get_by_role("table", name="Participation de chaque partenaire pour 2025").inner_text()
    assert "Commune de Falaise" in table and "184 / 365 (prorata)" in table and "967,80 €" in table
    axe_check(page, "fees")
    screenshot(page, "4-fees")
    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger en XLSX (tableur)").click()
    assert download.value.suggested_filename == "participations-2025.xlsx"
    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger en CSV").click()
    text = open(download.value.path(), encoding="utf-8-sig").read()
    assert "falaise,Commune de Falaise,commune,calvados,8128,0.15,184,365,614.61" in text.replace("\r", "")
    actions = {(e[1], e[2]) for e in audit_rows(app) if e[0] == ADMIN[0]}
    assert {("partner.add", "falaise"), ("agreement.amend", "falaise")} <= actions
