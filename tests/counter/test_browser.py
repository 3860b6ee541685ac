"""The suppliers' COUNTER table on a library's statistics page, in a real Chromium: readable and axe-clean."""

from __future__ import annotations

from datetime import UTC

import pytest
from playwright.sync_api import expect
from test_attribution import _setup

from fixtures import stats as statskit
from fixtures.browser import login_with_enter
from fixtures.staff import REFERENT


def _library_month(stats_app, serve_app, page) -> None:
    """Serve the app, log the Bayeux referent in and open their library's statistics for November 2026."""
    stats_app.config["TESTING"] = False
    url = serve_app(stats_app)
    login_with_enter(page, url, REFERENT)
    page.goto(f"{url}/staff/stats/libraries/{statskit.BAYEUX}?month=2026-11")


def _region_row(page, region: str, row: str):
    """The region named ``region`` (checked visible) and the text of its row named ``row``."""
    found = page.get_by_role("region", name=region)
    expect(found).to_be_visible()  # waits for the page the last click opened
    return found, found.get_by_role("row", name=row).inner_text()


@pytest.mark.browser
@pytest.mark.xdist_group("browser")
def test_the_counter_table_is_accessible(stats_app, serve_app, page, screenshot, axe_check):
    _setup(stats_app, network_report={"Total_Item_Requests": 90, "Unique_Item_Requests": 40, "Searches_Platform": 9},
           member_reports=None, patrons={statskit.BAYEUX: 1, statskit.VIRE: 2})
    _library_month(stats_app, serve_app, page)
    region, row = _region_row(page, "Chiffres des fournisseurs en nov. 2026", "Cafeyn")
    assert "réparti au prorata des accès" in row and "30" in row
    screenshot(page, "library-counter")
    axe_check(page, "statistics of a library with suppliers' COUNTER figures")
    page.set_viewport_size({"width": 375, "height": 740})
    expect(region).to_be_visible()
    axe_check(page, "the same on a phone")


@pytest.mark.browser
@pytest.mark.xdist_group("browser")
def test_the_supplier_page_is_accessible(stats_app, serve_app, page, screenshot, axe_check):
    from broker.db.counter_models import SushiMember
    from broker.services.counter import accounts
    from broker.services.suppliers import get_supplier

    runtime = stats_app.extensions["broker"]
    known = statskit.ids(stats_app)
    with runtime.db.session() as s:
        supplier = get_supplier(s, "cafeyn")
        account = accounts.set_account(runtime, s, supplier, url="https://sushi.example.org/r51", customer_id="NET-1")
        account.last_status, account.last_error = "fault", "https://sushi.example.org/r51/members: HTTP 500"
        s.add(SushiMember(supplier_id=supplier.id, customer_id="M-7L", name="Les 7 Lieux",
                          suggested_library_id=known["library"][statskit.BAYEUX]))
    stats_app.config["TESTING"] = False
    url = serve_app(stats_app)
    from fixtures.browser import login_admin

    login_admin(page, url)
    page.get_by_role("link", name="Fournisseurs").first.click()
    page.get_by_role("link", name="Cafeyn").click()
    expect(page.get_by_text("HTTP 500")).to_be_visible()
    axe_check(page, "a supplier's SUSHI page")
    page.get_by_label("Bibliothèque de Les 7 Lieux").select_option(statskit.BAYEUX)
    page.get_by_role("button", name="Confirmer").click()
    expect(page.get_by_text("association enregistrée")).to_be_visible()
    page.get_by_label("Adresse du serveur SUSHI").fill("not a url")
    page.get_by_role("button", name="Enregistrer les identifiants").click()
    expect(page.get_by_text("Adresse invalide")).to_be_visible()
    screenshot(page, "supplier-sushi-error")
    axe_check(page, "a supplier's SUSHI page with an error")
    page.set_viewport_size({"width": 375, "height": 740})
    axe_check(page, "the same on a phone")


@pytest.mark.browser
@pytest.mark.xdist_group("browser")
def test_the_titles_page_is_accessible(stats_app, serve_app, page, screenshot, axe_check):
    from test_titles import setup_titles

    setup_titles(stats_app, network={"Le Monde": {"Total_Item_Requests": 90, "Total_Item_Investigations": 120},
                                     "Télérama": {"Total_Item_Requests": 30, "No_License": 6}},
                 patrons={statskit.BAYEUX: 1, statskit.VIRE: 2})
    setup_titles(stats_app, report_id="DR",
                 members={statskit.BAYEUX: {"Europresse": {"Searches_Regular": 12, "Total_Item_Requests": 4}}})
    _library_month(stats_app, serve_app, page)
    page.get_by_role("link", name="Titres, bases de données et documents les plus consultés").click()
    _, row = _region_row(page, "Titres les plus consultés en nov. 2026 (50 premières lignes au plus)", "Le Monde")
    assert "30" in row and "réparti au prorata des accès" in row
    screenshot(page, "library-titles")
    axe_check(page, "a library's most used titles")
    page.get_by_label("Rapport COUNTER").select_option("dr")
    page.get_by_role("button", name="Afficher").click()
    region = page.get_by_role("region", name="Bases de données les plus consultées en nov. 2026 (50 premières lignes au plus)")
    row = region.get_by_role("row", name="Europresse")
    assert "12" in row.inner_text() and "rapporté par le fournisseur pour la bibliothèque" in row.inner_text()
    page.set_viewport_size({"width": 375, "height": 740})
    expect(region).to_be_visible()
    axe_check(page, "the databases on a phone")
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV du mois (toutes les lignes)").click()
    assert download.value.suggested_filename == f"counter-dr-{statskit.BAYEUX}-2026-11.csv"


@pytest.mark.browser
@pytest.mark.xdist_group("browser")
def test_the_supplier_reports_table_is_accessible(stats_app, serve_app, page, axe_check):
    from datetime import datetime

    from broker.db.counter_models import SushiReportState
    from broker.services.counter import accounts
    from broker.services.suppliers import get_supplier

    runtime = stats_app.extensions["broker"]
    with runtime.db.session() as s:
        supplier = get_supplier(s, "cafeyn")
        accounts.set_account(runtime, s, supplier, url="https://sushi.example.org/r51", customer_id="NET-1")
        at = datetime(2026, 12, 6, 4, 0, tzinfo=UTC)
        for rid, offered, status, error in (("PR", True, "ok", ""), ("DR", False, "", ""),
                                            ("TR", True, "rejected", "TR 2026-11: report rejected: no Title"),
                                            ("IR", True, "pending", "")):
            s.add(SushiReportState(supplier_id=supplier.id, report_id=rid, offered=offered, last_status=status,
                                   last_error=error, last_harvest_at=at))
    stats_app.config["TESTING"] = False
    url = serve_app(stats_app)
    from fixtures.browser import login_admin

    login_admin(page, url)
    page.goto(f"{url}/staff/suppliers/cafeyn")
    region = page.get_by_role("region", name="Rapports proposés par le serveur SUSHI et dernière récupération")
    assert "Rapport refusé" in region.get_by_role("row", name="Rapport titres (TR)").inner_text()
    axe_check(page, "a supplier's COUNTER reports")
    page.set_viewport_size({"width": 375, "height": 740})
    axe_check(page, "the same on a phone")
