"""A referent in a real browser: log in, check a registration against the SIGB, validate it, suspend a member.

Served over HTTP from the staff tests' demo database, with the demo's SIP2 libraries talking to the SIP2
emulator; screenshots go to tests/artifacts/ and every page passes the axe-core check.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from fixtures.browser import enrol, open_enrolment
from fixtures.staff import BAYEUX, REFERENT, membership_id, state_of


@pytest.mark.browser
@pytest.mark.xdist_group("browser")
def test_referent_validates_a_registration_and_suspends_a_member(admin_site, page, screenshot, axe_check):
    app, url = admin_site
    pending = membership_id(app, BAYEUX, "29001000000025")
    member = membership_id(app, BAYEUX, "29001000000017")

    page.goto(f"{url}/staff/")
    assert page.url.startswith(f"{url}/staff/login")
    axe_check(page, "staff login")
    page.get_by_label("Adresse e-mail").fill(REFERENT[0])
    page.get_by_label("Mot de passe").fill(REFERENT[1])
    page.keyboard.press("Enter")  # the keyboard alone submits the form
    page.wait_for_url(f"{url}/staff/")
    assert page.get_by_role("heading", level=1).inner_text() == "Tableau de bord"
    expect(page.get_by_text("1 inscription en attente de décision.")).to_be_visible()
    screenshot(page, "1-dashboard")
    axe_check(page, "staff dashboard")

    page.get_by_role("link", name="File d'attente – Médiathèque Les 7 Lieux").click()
    page.wait_for_url(f"{url}/staff/libraries/{BAYEUX}/queue")
    # the page comes at once; the card's SIGB check arrives after, the progress said aloud
    expect(page.locator("#sigb-progress")).to_have_text("Vérification dans le SIGB terminée : 1 carte(s).")
    row = page.locator(f"#m{pending}")
    assert "Numéro de carte non conservé" in row.inner_text()
    row.get_by_label("Numéro de carte (se terminant par 0025)").fill("29001000000025")
    row.get_by_role("button", name="Vérifier dans le SIGB").click()
    row = page.locator(f"#m{pending}")
    assert "Lucas Bernard" in row.inner_text() and "Carte valide" in row.inner_text()
    assert "né(e) en 1995" in row.inner_text()
    screenshot(page, "2-queue-with-sigb-lookup")
    axe_check(page, "pending queue")

    row.get_by_role("button", name="Valider …0025", exact=True).click()
    page.wait_for_url(f"{url}/staff/libraries/{BAYEUX}/queue")
    expect(page.get_by_text("Inscription validée")).to_be_visible()
    expect(page.get_by_text("Aucune inscription en attente.")).to_be_visible()
    screenshot(page, "3-validated")
    assert state_of(app, pending) == "active"

    page.get_by_role("link", name="Usagers").click()
    page.get_by_label("Numéro de carte, nom ou e-mail").fill("29001000000017")
    page.get_by_role("button", name="Rechercher").click()
    expect(page.get_by_text("1 usager trouvé")).to_be_visible()
    axe_check(page, "patron search")
    page.get_by_role("link", name="…0017").click()
    page.wait_for_url(f"{url}/staff/memberships/{member}")
    page.get_by_label("Motif de la suspension (envoyé à l'usager)").fill("Carte signalée perdue au guichet")
    page.get_by_role("button", name="Suspendre l'accès").click()
    page.wait_for_url(f"{url}/staff/memberships/{member}")
    expect(page.get_by_text("Accès suspendu")).to_be_visible()
    history = page.get_by_role("table", name="Historique de l'inscription : qui, quand, pourquoi").inner_text()
    assert "Suspension" in history and REFERENT[0] in history and "Carte signalée perdue au guichet" in history
    screenshot(page, "4-suspended")
    axe_check(page, "patron page")
    assert state_of(app, member) == "suspended"

    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url(f"{url}/staff/login")
    page.goto(f"{url}/staff/")
    assert page.url.startswith(f"{url}/staff/login")

    to = {m["To"]: m["Subject"] for m in app.smtp.messages}
    assert "validée" in to["lucas.bernard@example.org"]
    assert "suspendu" in to["camille.martin@example.org"]


@pytest.mark.browser
@pytest.mark.xdist_group("browser")
def test_admin_enrols_totp_at_first_login_and_reads_the_audit_log(admin_site, page, screenshot, axe_check):
    from fixtures.staff import VIRE, as_staff, post
    from fixtures.staff import membership_id as mid_of

    app, url = admin_site
    intruder = app.test_client()  # a referent's out-of-scope attempt, for the audit log
    as_staff(app, intruder, VIRE)
    post(intruder, f"/staff/memberships/{mid_of(app, BAYEUX, '29001000000017')}/suspend", {"reason": "essai"})

    secret = open_enrolment(page, url)
    assert page.locator("#totp-uri").inner_text().startswith("otpauth://totp/")
    screenshot(page, "1-totp-enrolment")
    axe_check(page, "TOTP enrolment")
    enrol(page, url, secret)
    expect(page.get_by_text("La double authentification est activée.")).to_be_visible()
    expect(page.get_by_role("link", name="Médiathèque de Vire", exact=True)).to_be_visible()

    page.get_by_role("link", name="Journal d'audit").click()
    table = page.get_by_role("table", name="Actions enregistrées")
    assert "refusée (hors périmètre)" in table.inner_text() and VIRE[0] in table.inner_text()
    screenshot(page, "2-audit-log")
    axe_check(page, "audit log")

    page.get_by_role("link", name="Jetons d'API").click()
    page.get_by_label("Nom du jeton").fill("script du SIGB")
    page.get_by_role("button", name="Créer le jeton").click()
    token = page.get_by_label("Nouveau jeton").input_value()
    assert token.startswith("sst_")
    axe_check(page, "API tokens")
    me = page.request.get(f"{url}/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status == 200 and me.json()["admin"] is True

    page.goto(f"{url}/staff/libraries/{BAYEUX}/")
    axe_check(page, "library page")
    page.goto(f"{url}/staff/security")
    axe_check(page, "security page")
