"""The statistics pages in a real headless Chromium: charts drawn, named for screen readers, axe-clean."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from broker.services.stats import aggregate
from fixtures import stats as statskit
from fixtures.browser import login_with_enter
from fixtures.staff import REFERENT
from fixtures.stats import paris


@pytest.fixture
def stats_site(stats_app, serve_app):  # noqa: F811
    known = statskit.ids(stats_app)
    rows = []
    for month in (1, 2, 3):
        for i, slug in enumerate(("cafeyn", "pnb", "skilleos", "philharmonie")[: month + 1]):
            rows.append({"network_id": known["network"]["calvados"], "library_id": known["library"]["FR-140476101"],
                         "supplier_id": known["supplier"][slug], "patron_key": f"{i:032x}",
                         "at": paris(2025, month, 4 + i), "outcome": "granted"})
    statskit.insert_events(stats_app, rows)
    aggregate(stats_app.extensions["broker"])
    stats_app.config["TESTING"] = False
    return serve_app(stats_app)


@pytest.mark.browser
@pytest.mark.xdist_group("browser")
def test_a_referent_reads_the_charts(stats_site, page, screenshot, axe_check):  # noqa: F811
    url = stats_site
    login_with_enter(page, url, REFERENT)
    page.goto(f"{url}/staff/stats/libraries/FR-140476101?month=2025-03")
    trend = page.get_by_role("img", name="Accès et usagers uniques sur 12 mois")
    bars = page.get_by_role("img", name="Accès par fournisseur, mars 2025")
    for chart in (trend, bars):
        box = chart.bounding_box()
        assert box and box["width"] > 250 and box["height"] > 80
    assert page.locator("#trend polyline").count() == 2
    assert page.locator("#suppliers rect").count() == 4
    expect(page.get_by_role("region", name="Accès par fournisseur et par mois, sur 12 mois")).to_be_visible()
    screenshot(page, "library-month")
    axe_check(page, "statistics of a library")
    page.get_by_role("link", name="← févr. 2025").click()
    page.wait_for_url(f"{url}/staff/stats/libraries/FR-140476101?month=2025-02")
    assert page.locator("#suppliers rect").count() == 3
    page.goto(f"{url}/staff/stats/partners/bayeux-intercom/2025")
    assert page.get_by_role("heading", level=1).inner_text() == "Ressources numériques : rapport 2025"
    page.emulate_media(media="print")
    expect(page.get_by_text("Pour obtenir un PDF")).not_to_be_visible()
    screenshot(page, "partner-report-print")
