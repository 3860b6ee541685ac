"""The suppliers' COUNTER table on a library's statistics page, in a real Chromium: readable and axe-clean."""

from __future__ import annotations

import pytest

from stats import statskit
from test_attribution import _setup

REFERENT_PASSWORD = "demo-referent-2026"


@pytest.mark.browser
@pytest.mark.xdist_group("browser")
def test_the_counter_table_is_accessible(stats_app, serve_app, page, screenshot, axe_check):
    _setup(stats_app, network_report={"Total_Item_Requests": 90, "Unique_Item_Requests": 40, "Searches_Platform": 9},
           member_reports=None, patrons={statskit.BAYEUX: 1, statskit.VIRE: 2})
    stats_app.config["TESTING"] = False
    url = serve_app(stats_app)
    page.goto(f"{url}/staff/login")
    page.get_by_label("Adresse électronique").fill(statskit.REFERENT)
    page.get_by_label("Mot de passe").fill(REFERENT_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{url}/staff/")
    page.goto(f"{url}/staff/stats/libraries/{statskit.BAYEUX}?month=2026-11")
    region = page.get_by_role("region", name="Chiffres des fournisseurs en nov. 2026")
    assert region.is_visible()
    row = region.get_by_role("row", name="Cafeyn")
    assert "réparti au prorata des accès" in row.inner_text() and "30" in row.inner_text()
    screenshot(page, "library-counter")
    axe_check(page, "statistics of a library with suppliers' COUNTER figures")
    page.set_viewport_size({"width": 375, "height": 740})
    assert region.is_visible()
    axe_check(page, "the same on a phone")
