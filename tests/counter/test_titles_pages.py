"""The titles page of a library or network (COUNTER TR, DR, IR), its exports, and the supplier page's reports."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime

from test_titles import setup_titles

from broker.db.counter_models import SushiReportState
from broker.services.counter import accounts
from broker.services.suppliers import get_supplier
from fixtures import stats as statskit

NETWORK = {"Le Monde": {"Total_Item_Requests": 90, "Total_Item_Investigations": 120, "No_License": 3},
           "=HYPERLINK(\"x\")": {"Total_Item_Requests": 3}}


def _client(app, who=statskit.REFERENT):
    client = app.test_client()
    statskit.as_staff(app, client, who)
    return client


def test_a_library_sees_its_share_of_each_title(stats_app):
    setup_titles(stats_app, network=NETWORK, patrons={statskit.BAYEUX: 1, statskit.VIRE: 2})
    client = _client(stats_app)
    r = client.get(f"/staff/stats/libraries/{statskit.BAYEUX}/titles?month=2026-11")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    table = re.search(r'<caption id="titles-caption">.*?</table>', html, re.S).group(0)
    row = re.search(r'<tr>\s*<th scope="row">Le Monde.*?</tr>', table, re.S).group(0)
    cells = re.findall(r'<td class="num">([^<]*)</td>', row)
    assert cells[0] == "30"  # Total_Item_Requests: a third of 90
    assert "réparti au prorata des accès" in row
    assert "Contenus consultés (total)" in table and "Total_Item_Requests" in table and "No_License" in table
    assert "Refus : contenu hors abonnement" in table
    # the library's statistics page links to it
    page = client.get(f"/staff/stats/libraries/{statskit.BAYEUX}?month=2026-11").get_data(as_text=True)
    assert f"/staff/stats/libraries/{statskit.BAYEUX}/titles?month=2026-11" in page


def test_the_network_admin_sees_the_network_titles_and_another_report(stats_app):
    setup_titles(stats_app, network=NETWORK, patrons={statskit.BAYEUX: 1, statskit.VIRE: 2})
    setup_titles(stats_app, report_id="DR", members={statskit.VIRE: {"Europresse": {"Searches_Regular": 12}}})
    client = _client(stats_app, statskit.ADMIN)
    html = client.get("/staff/stats/networks/calvados/titles?month=2026-11").get_data(as_text=True)
    row = re.search(r'<tr>\s*<th scope="row">Le Monde.*?</tr>', html, re.S).group(0)
    assert re.findall(r'<td class="num">([^<]*)</td>', row)[0] == "90"
    html = client.get("/staff/stats/networks/calvados/titles?month=2026-11&report=dr&metric=Searches_Regular"
                      ).get_data(as_text=True)
    assert "Europresse" in html and "Recherches" in html and "rapporté par le fournisseur pour la bibliothèque" in html


def test_exports_csv_and_json(stats_app):
    setup_titles(stats_app, network=NETWORK, patrons={statskit.BAYEUX: 1, statskit.VIRE: 2})
    client = _client(stats_app)
    base = f"/staff/stats/libraries/{statskit.BAYEUX}/titles"
    r = client.get(f"{base}.csv?month=2026-11")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert f"counter-tr-{statskit.BAYEUX}-2026-11.csv" in r.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))
    lines = [dict(zip(rows[0], row)) for row in rows[1:]]
    assert lines[0]["Titre"] == "Le Monde" and lines[0]["Contenus consultés (total) (Total_Item_Requests)"] == "30"
    assert lines[1]["Titre"].startswith("'=")  # a title a spreadsheet would run as a formula stays text
    r = client.get(f"{base}.json?year=2026")
    doc = json.loads(r.get_data(as_text=True))
    assert doc["period"] == "2026" and doc["lines"][0]["metrics"]["Total_Item_Requests"] == 30
    r = client.get(f"{base}.csv?month=2026-11&csv=en")
    assert r.get_data(as_text=True).lstrip("\ufeff").startswith("period,selection,supplier")


def test_export_xlsx(stats_app):
    from openpyxl import load_workbook

    setup_titles(stats_app, network=NETWORK, patrons={statskit.BAYEUX: 1, statskit.VIRE: 2})
    client = _client(stats_app)
    base = f"/staff/stats/libraries/{statskit.BAYEUX}/titles"
    assert f"{base}.xlsx?month=2026-11" in client.get(f"{base}?month=2026-11").get_data(as_text=True)
    r = client.get(f"{base}.xlsx?month=2026-11")
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    assert f"counter-tr-{statskit.BAYEUX}-2026-11.xlsx" in r.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(r.data)).active
    assert sheet.title == "Rapport titres"
    header = [c.value for c in sheet[1]]
    lines = [dict(zip(header, (c.value for c in row))) for row in sheet.iter_rows(min_row=2)]
    assert lines[0]["Titre"] == "Le Monde" and lines[0]["Contenus consultés (total) (Total_Item_Requests)"] == 30
    assert lines[0]["Origine des chiffres du fournisseur"] == "réparti au prorata des accès"
    assert lines[1]["Titre"].startswith("'=")  # a title a spreadsheet would run as a formula stays text
    r = client.get(f"/staff/stats/libraries/{statskit.VIRE}/titles.xlsx?year=2026")
    assert r.status_code == 403


def test_bad_parameters_are_400_and_other_libraries_403(stats_app):
    client = _client(stats_app)
    base = f"/staff/stats/libraries/{statskit.BAYEUX}/titles"
    for query in ("?report=pr", "?report=tr&metric=Searches_Regular", "?month=2026-13", "?report=%00"):
        r = client.get(base + query)
        assert r.status_code == 400, query
    assert client.get(f"{base}.csv?month=2026-11&year=2026").status_code == 400
    assert client.get(f"/staff/stats/libraries/{statskit.VIRE}/titles").status_code == 403
    assert client.get(f"/staff/stats/libraries/{statskit.VIRE}/titles.json?month=2026-11").status_code == 403


def test_the_supplier_page_shows_the_reports_offered_and_their_last_harvest(stats_app):
    runtime = stats_app.extensions["broker"]
    with runtime.db.session() as s:
        supplier = get_supplier(s, "cafeyn")
        accounts.set_account(runtime, s, supplier, url="https://sushi.example.org/r51", customer_id="NET-1")
        at = datetime(2026, 12, 6, 4, 0, tzinfo=UTC)
        s.add_all([SushiReportState(supplier_id=supplier.id, report_id="PR", offered=True, last_status="ok",
                                    last_error="", last_harvest_at=at),
                   SushiReportState(supplier_id=supplier.id, report_id="TR", offered=True, last_status="rejected",
                                    last_error="TR 2026-11: report rejected: Report_Items[3]: no Title",
                                    last_harvest_at=at),
                   SushiReportState(supplier_id=supplier.id, report_id="DR", offered=False, last_status="",
                                    last_error="")])
    client = _client(stats_app, statskit.ADMIN)
    html = client.get("/staff/suppliers/cafeyn").get_data(as_text=True)
    table = re.search(r'<caption id="offered-caption">.*?</table>', html, re.S).group(0)
    rows = {re.search(r'<th scope="row">([^<]*)</th>', r).group(1): r
            for r in re.findall(r"<tr>\s*<th scope=\"row\">.*?</tr>", table, re.S)}
    assert "À jour" in rows["Rapport plateforme (PR)"]
    assert "Rapport refusé" in rows["Rapport titres (TR)"] and "no Title" in rows["Rapport titres (TR)"]
    assert "<td>non</td>" in rows["Rapport bases de données (DR)"]
    assert "pas encore vérifié" in rows["Rapport documents (IR)"]


def test_the_titles_page_in_english(stats_app):
    setup_titles(stats_app, network=NETWORK, patrons={statskit.BAYEUX: 1, statskit.VIRE: 2})
    client = _client(stats_app)
    html = client.get(f"/staff/stats/libraries/{statskit.BAYEUX}/titles?month=2026-11&lang=en").get_data(as_text=True)
    assert '<html lang="en">' in html and "Most used titles" in html and "Items requested (total)" in html
    assert "Denied: content not licensed" in html and "Total_Item_Requests" in html
