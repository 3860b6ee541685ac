"""A network admin in a real browser: partners and agreements, the year's fees, staff accounts, the network queue.

Each page passes the axe-core check; screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from fixtures.browser import login_admin, open_enrolment
from fixtures.staff import ADMIN, audit_rows


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
    expect(page.get_by_text("Partenaire ajouté : Commune de Falaise.")).to_be_visible()
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


@pytest.mark.browser
@pytest.mark.xdist_group("browser")
def test_totp_qr_code_decodes_to_the_otpauth_uri(admin_site, page, screenshot):
    import io

    import zxingcpp
    from PIL import Image

    app, url = admin_site
    open_enrolment(page, url)
    uri = page.locator("#totp-uri").inner_text()
    assert uri.startswith("otpauth://totp/")
    png = page.locator("#totp-qr svg").screenshot()  # as Chromium draws it, decoded by another library
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert [b.text for b in found] == [uri]
    expect(page.get_by_role("img", name="QR code de configuration de l'application d'authentification")).to_be_visible()
    screenshot(page, "totp-qr")


@pytest.mark.browser
@pytest.mark.xdist_group("browser")
def test_admin_invites_a_referent_who_sets_a_password_and_validates_a_registration(admin_site, page, screenshot,
                                                                                    axe_check):
    import re

    from fixtures.staff import VIRE_LIB, membership_id, state_of

    app, url = admin_site
    pending = membership_id(app, VIRE_LIB, "V0002")
    login_admin(page, url)
    page.get_by_role("link", name="File du réseau").click()
    page.wait_for_url(f"{url}/staff/pending")
    expect(page.locator(f"#m{pending}")).to_be_visible()
    axe_check(page, "network queue")
    screenshot(page, "1-network-queue")

    page.get_by_role("link", name="Comptes").click()
    page.wait_for_url(f"{url}/staff/accounts")
    axe_check(page, "staff accounts")
    page.get_by_label("Adresse e-mail").fill("nouvelle.referente@vire.example.org")
    page.get_by_label("Rôle").select_option("referent")
    page.get_by_label("Périmètre").select_option(f"library:{VIRE_LIB}")
    page.get_by_role("button", name="Envoyer l'invitation").click()
    page.wait_for_url(f"{url}/staff/accounts")
    expect(page.get_by_text("Invitation envoyée à nouvelle.referente@vire.example.org")).to_be_visible()
    assert "invité (lien valable" in page.locator("table").inner_text()
    screenshot(page, "2-invited")
    page.get_by_label("Adresse e-mail").fill("referent@vire.example.org")
    page.get_by_role("button", name="Envoyer l'invitation").click()
    assert page.locator("#email-error").inner_text() == "Un compte actif existe déjà pour cette adresse."
    axe_check(page, "invitation refused")
    page.get_by_role("button", name="Se déconnecter").click()

    mail = next(m for m in app.smtp.messages if m["To"] == "nouvelle.referente@vire.example.org")
    link = re.search(r"http://\S+/staff/invite/\S+", mail.get_content()).group(0)
    page.goto(url + link[link.index("/staff/"):])
    axe_check(page, "choose a password")
    page.get_by_label("Nouveau mot de passe").fill("une phrase de passe solide")
    page.get_by_label("Le même mot de passe, encore une fois").fill("une phrase de passe solide")
    page.get_by_role("button", name="Enregistrer le mot de passe").click()
    page.wait_for_url(f"{url}/staff/login")
    screenshot(page, "3-password-chosen")
    page.get_by_label("Adresse e-mail").fill("nouvelle.referente@vire.example.org")
    page.get_by_label("Mot de passe").fill("une phrase de passe solide")
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{url}/staff/")
    page.get_by_role("link", name="File d'attente – Médiathèque de Vire").click()
    page.locator(f"#m{pending}").get_by_role("button", name="Valider …0002", exact=True).click()
    expect(page.get_by_text("Inscription validée")).to_be_visible()
    assert state_of(app, pending) == "active"
    trail = [(e[0], e[1]) for e in audit_rows(app) if "nouvelle.referente" in e[0] + e[2]]
    assert trail[:3] == [(ADMIN[0], "staff.invite"), ("nouvelle.referente@vire.example.org", "staff.password.set"),
                         ("nouvelle.referente@vire.example.org", "staff.login")]
    assert ("nouvelle.referente@vire.example.org", "membership.approve") in trail
