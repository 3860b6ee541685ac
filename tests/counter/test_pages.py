"""The staff statistics pages show the suppliers' COUNTER figures, labelled with their origin."""

from __future__ import annotations

import re

from test_attribution import _setup

from fixtures import stats as statskit


def test_library_page_shows_the_shared_supplier_figures(stats_app):
    _setup(stats_app, network_report={"Total_Item_Requests": 90, "Searches_Platform": 3},
           patrons={statskit.BAYEUX: 1, statskit.VIRE: 2})
    client = stats_app.test_client()
    statskit.as_staff(stats_app, client, statskit.REFERENT)
    html = client.get(f"/staff/stats/libraries/{statskit.BAYEUX}?month=2026-11").get_data(as_text=True)
    assert "Usage déclaré par les fournisseurs (COUNTER)" in html
    table = re.search(r'<caption id="counter-caption">.*?</table>', html, re.S).group(0)
    row = re.search(r"<tr><th scope=\"row\">Cafeyn</th>.*?</tr>", table, re.S).group(0)
    cells = re.findall(r'<td class="num">([^<]*)</td>', row)
    assert cells[0] == "30"  # Total_Item_Requests: a third of 90 (one unique patron of three)
    assert "réparti au prorata des accès" in row
    assert "Total_Item_Requests" in table and "Contenus consultés (total)" in table


def test_pages_without_supplier_figures_have_no_such_table(stats_app):
    client = stats_app.test_client()
    statskit.as_staff(stats_app, client, statskit.ADMIN)
    r = client.get("/staff/stats/networks/calvados?month=2026-11")
    assert r.status_code == 200 and "counter-caption" not in r.get_data(as_text=True)


def test_the_council_report_shows_the_year_of_supplier_figures(stats_app):
    _setup(stats_app, network_report={"Total_Item_Requests": 90, "Searches_Platform": 3},
           patrons={statskit.BAYEUX: 1, statskit.VIRE: 2})
    client = stats_app.test_client()
    statskit.as_staff(stats_app, client, statskit.ADMIN)
    r = client.get("/staff/stats/partners/bayeux-intercom/2026")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    table = re.search(r"Chiffres des fournisseurs en 2026</caption>.*?</table>", html, re.S).group(0)
    row = re.search(r'<tr><th scope="row">Cafeyn</th>.*?</tr>', table, re.S).group(0)
    assert re.findall(r'<td class="num">([^<]*)</td>', row)[:1] == ["30"]
    assert "réparti au prorata des accès" in row


def test_the_network_page_tells_the_admin_of_unshared_usage(stats_app):
    _setup(stats_app, network_report={"Total_Item_Requests": 50})  # nobody used cafeyn through Sésame
    client = stats_app.test_client()
    statskit.as_staff(stats_app, client, statskit.ADMIN)
    html = client.get("/staff/stats/networks/calvados?month=2026-11").get_data(as_text=True)
    note = re.search(r'<div class="note" role="note">.*?</div>', html, re.S).group(0)
    assert "Non réparti" in note and "Cafeyn" in note and "Total_Item_Requests</span> 50" in note
