"""Staff statistics pages: scoping (403 and an audit row), charts that parse, downloads, bad input, no 500."""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET

import pytest
from openpyxl import load_workbook

from broker.services.stats import Month, aggregate
from fixtures import stats as statskit
from fixtures.stats import ADMIN, REFERENT, paris

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def filled(stats_app):
    """Some usage in March 2025 and this month, aggregated."""
    known = statskit.ids(stats_app)
    rows = []
    for code in ("FR-140476101", "FR-143346101", "FR-141186001"):
        for i, slug in enumerate(("cafeyn", "pnb", "digame")):
            rows.append({"network_id": known["library_network"][code], "library_id": known["library"][code],
                         "supplier_id": known["supplier"][slug], "patron_key": f"{code}-{i}",
                         "at": paris(2025, 3, 10 + i), "outcome": "granted"})
    statskit.insert_events(stats_app, rows)
    statskit.record_flows(stats_app, rounds=1)
    aggregate(stats_app.extensions["broker"])
    return stats_app


def _svgs(html: str) -> list[ET.Element]:
    return [ET.fromstring(match) for match in re.findall(r"<svg\b.*?</svg>", html, re.S)]


def _page_as(app, client, email: str, path: str) -> str:
    """The page at ``path`` as the staff account ``email`` sees it (answered 200)."""
    statskit.as_staff(app, client, email)
    r = client.get(path)
    assert r.status_code == 200
    return r.get_data(as_text=True)


def test_a_referent_sees_their_library_with_charts_and_tables(filled, stats_client):
    html = _page_as(filled, stats_client, REFERENT, "/staff/stats/libraries/FR-140476101?month=2025-03")
    charts = _svgs(html)
    assert len(charts) == 2
    for svg in charts:
        assert svg.get("role") == "img"
        title, desc = svg.find(f"{SVG}title"), svg.find(f"{SVG}desc")
        assert title is not None and title.text and desc is not None and desc.text
        assert svg.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    suppliers_chart = next(s for s in charts if s.get("id") == "suppliers")
    assert "Cafeyn 1" in suppliers_chart.find(f"{SVG}desc").text
    # the numbers are in tables too, months side by side (12 columns) and suppliers side by side
    assert "Fournisseurs côte à côte" in html and "Mois côte à côte" in html
    months_table = re.search(r'<table class="months">.*?</table>', html, re.S).group(0)
    assert months_table.count('<th scope="col" class="num">') == 12
    assert "Cafeyn" in months_table


def test_a_referent_asking_another_library_gets_403_and_an_audit_row(filled, stats_client):
    statskit.as_staff(filled, stats_client, REFERENT)
    r = stats_client.get("/staff/stats/libraries/FR-141186001")  # Caen: another network
    assert r.status_code == 403
    assert "hors de votre périmètre" in r.get_data(as_text=True)
    assert (REFERENT, "stats.view", "FR-141186001", "denied") in statskit.audit_rows(filled)
    r = stats_client.get("/staff/stats/libraries/FR-143346101/export.csv?month=2025-03")  # same network, not theirs
    assert r.status_code == 403
    assert (REFERENT, "stats.export", "FR-143346101", "denied") in statskit.audit_rows(filled)
    assert stats_client.get("/staff/stats/networks/calvados").status_code == 403
    assert (REFERENT, "stats.view", "calvados", "denied") in statskit.audit_rows(filled)


def test_a_network_admin_sees_every_library_of_their_network_only(filled, stats_client):
    html = _page_as(filled, stats_client, ADMIN, "/staff/stats/networks/calvados?month=2025-03")
    assert "Bibliothèques côte à côte" in html and "Médiathèque Les 7 Lieux" in html
    assert stats_client.get("/staff/stats/libraries/FR-143346101?month=2025-03").status_code == 200
    assert stats_client.get("/staff/stats/libraries/FR-141186001").status_code == 403
    assert stats_client.get("/staff/stats/networks/caen-la-mer").status_code == 403
    index = stats_client.get("/staff/stats/?month=2025-03").get_data(as_text=True)
    assert "Bibliothèque de Port-en-Bessin" in index and "Médiathèque de Vire" in index
    assert "Bibliothèque Alexis de Tocqueville" not in index


def test_downloads_open(filled, stats_client):
    statskit.as_staff(filled, stats_client, ADMIN)
    r = stats_client.get("/staff/stats/networks/calvados/export.csv?month=2025-03")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert 'filename="statistiques-calvados-2025-03.csv"' in r.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))
    assert rows[0][0] == "Mois"  # a French reader gets the French convention
    assert sum(int(row[6]) for row in rows[1:]) == 6
    r = stats_client.get("/staff/stats/networks/calvados/export.csv?month=2025-03&csv=en")
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][0] == "month" and sum(int(row[6]) for row in rows[1:]) == 6
    assert stats_client.get("/staff/stats/networks/calvados/export.csv?month=2025-03&csv=xx").status_code == 400
    r = stats_client.get(f"/staff/stats/libraries/FR-140476101/export.xlsx?year={Month.current().year}")
    assert r.status_code == 200
    assert load_workbook(io.BytesIO(r.data)).sheetnames == ["Usage", "Refus", "Bibliothèques"]
    r = stats_client.get("/staff/stats/libraries/FR-140476101/export.json?month=2024-01")  # no data: valid
    assert r.status_code == 200 and r.get_json()["months"][0]["details"] == []
    r = stats_client.get("/staff/stats/networks/calvados/counter.json?month=2025-03")
    assert r.status_code == 200 and r.get_json()["Report_Header"]["Customer_ID"] == "calvados"


@pytest.mark.parametrize("path, status", [
    ("/staff/stats/libraries/FR-140476101?month=2025-13", 400),
    ("/staff/stats/libraries/FR-140476101?month=2999-01", 400),
    ("/staff/stats/libraries/FR-140476101?month=%27%3B--", 400),
    ("/staff/stats/libraries/FR-000000000", 404),
    ("/staff/stats/libraries/%3Cscript%3E", 404),
    ("/staff/stats/networks/atlantis", 404),
    ("/staff/stats/networks/calvados/export.csv?month=2025-03&year=2025", 400),
    ("/staff/stats/networks/calvados/export.csv?year=20251", 400),
    ("/staff/stats/networks/calvados/export.csv?month=2025-03&table=passwords", 400),
    ("/staff/stats/networks/calvados/export.pdf?month=2025-03", 404),
    ("/staff/stats/partners/atlantis/2025", 404),
    ("/staff/stats/partners/lisieux/2999", 400),
])
def test_bad_input_is_a_clear_4xx(filled, stats_client, path, status):
    statskit.as_staff(filled, stats_client, ADMIN)
    r = stats_client.get(path)
    assert r.status_code == status, r.get_data(as_text=True)[:500]


def test_pages_need_a_staff_login(stats_client):
    r = stats_client.get("/staff/stats/libraries/FR-140476101")
    assert r.status_code == 302 and "/staff/login" in r.headers["Location"]


def test_the_yearly_partner_report_is_printable(filled, stats_client):
    html = _page_as(filled, stats_client, REFERENT, "/staff/stats/partners/bayeux-intercom/2025")
    assert "@media print" in html and "Bayeux Intercom" in html
    assert "4\u202f458,00\xa0€" in html  # 29,720 inhabitants × 0.15 €, with the French thousands separator
    assert "29\u202f720 habitants" in html and "× 0,15 € par habitant" in html
    assert "Médiathèque Les 7 Lieux" in html
    assert "Bibliothèque de Port-en-Bessin" not in html  # not in the referent's scope
    assert "n'est pas dans votre périmètre" in html
    assert _svgs(html)[0].get("role") == "img"
    assert stats_client.get("/staff/stats/partners/lisieux/2025").status_code == 403
    assert (REFERENT, "stats.report", "lisieux", "denied") in statskit.audit_rows(filled)


def test_pages_in_english(filled, stats_client):
    statskit.as_staff(filled, stats_client, REFERENT)
    html = stats_client.get("/staff/stats/libraries/FR-140476101?month=2025-03&lang=en").get_data(as_text=True)
    assert "Suppliers side by side" in html and "Months side by side" in html
