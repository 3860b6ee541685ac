"""The pending queue in a real browser: the page comes at once, each card's SIGB check fills in as it arrives."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from fixtures.staff import VIRE, VIRE_LIB, add_pending, app_from_template, membership_id


@pytest.fixture
def queue_site(make_app, smtp_sink, tmp_path, staff_template, serve_app, sip2_emulator):
    app = app_from_template(make_app, staff_template, tmp_path, sip2_port=sip2_emulator.port, **smtp_sink.settings)
    app.config["TESTING"] = False
    return app, serve_app(app)


def _log_in(page, url):
    page.goto(f"{url}/staff/login")
    page.get_by_label("Adresse e-mail").fill(VIRE[0])
    page.get_by_label("Mot de passe").fill(VIRE[1])
    page.keyboard.press("Enter")
    page.wait_for_url(f"{url}/staff/")


@pytest.mark.browser
@pytest.mark.xdist_group("browser")
def test_queue_fills_in_each_sigb_check_with_progress(queue_site, page, screenshot, axe_check):
    app, url = queue_site
    kept = membership_id(app, VIRE_LIB, "V0002")
    others = [add_pending(app, f"V90{n:02d}", f"Lecteur {n}", f"lecteur{n}@example.org") for n in range(1, 5)]
    _log_in(page, url)
    asked = []
    page.on("request", lambda r: asked.append(r.url) if r.url.endswith("/sigb") else None)
    page.goto(f"{url}/staff/libraries/{VIRE_LIB}/queue")
    progress = page.locator("#sigb-progress")
    assert progress.get_attribute("aria-live") == "polite"
    expect(progress).to_have_text("Vérification dans le SIGB terminée : 5 carte(s).")
    assert len(asked) == 5  # one small request per card, none twice
    kept_row = page.locator(f"#m{kept}")
    expect(kept_row).to_contain_text("Carte valide")
    assert "Thomas Garnier" in kept_row.inner_text()
    for mid in others:  # every column says what the SIGB answered
        row = page.locator(f"#m{mid}")
        assert "Pas encore vérifiée" not in row.inner_text()
        assert page.locator(f"#sigb-{mid} .sigb").count() == 1
    screenshot(page, "queue-checked")
    axe_check(page, "pending queue, checked")


@pytest.mark.browser
@pytest.mark.xdist_group("browser")
def test_queue_works_without_javascript(queue_site, browser):
    app, url = queue_site
    kept = membership_id(app, VIRE_LIB, "V0002")
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844}, locale="fr-FR",
                                  extra_http_headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    try:
        page = context.new_page()
        _log_in(page, url)
        page.goto(f"{url}/staff/libraries/{VIRE_LIB}/queue")
        row = page.locator(f"#m{kept}")
        assert "Pas encore vérifiée dans le SIGB." in row.inner_text()
        row.get_by_role("link", name="Vérifier cette carte dans le SIGB").click()
        page.wait_for_load_state()
        assert "check=" in page.url
        assert "Carte valide" in page.locator(f"#m{kept}").inner_text()
    finally:
        context.close()
