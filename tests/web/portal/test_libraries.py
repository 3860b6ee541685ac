"""Choosing a library: plain search form, JSON suggestions, the remembering cookie."""

from __future__ import annotations

import pytest

VIRE = "FR-147626101"
CAEN = "FR-141186001"


@pytest.mark.parametrize("query, found", [
    ("vire", "Médiathèque de Vire"),
    ("VIRE", "Médiathèque de Vire"),
    ("conde", "Médiathèque de Condé-en-Normandie"),
    ("Condé en Normandie", "Médiathèque de Condé-en-Normandie"),
    ("herouville", "Médiathèque Jacques Prévert"),
    ("tocqueville", "Bibliothèque Alexis de Tocqueville"),
    (CAEN, "Bibliothèque Alexis de Tocqueville"),
])
def test_search_by_name_commune_or_code_ignores_accents_and_case(portal, query, found):
    response = portal.client.get("/libraries", query_string={"q": query})
    assert response.status_code == 200
    assert found in response.get_data(as_text=True)


def test_search_crosses_networks(portal):
    html = portal.client.get("/libraries?q=médiathèque").get_data(as_text=True)
    assert "Médiathèque de Mondeville" in html  # Caen la mer
    assert "Médiathèque de Vire" in html  # Calvados
    assert "bibliothèques trouvées" in html


def test_no_match_says_so(portal):
    html = portal.client.get("/libraries?q=zzzzzz").get_data(as_text=True)
    assert "Aucune bibliothèque ne correspond" in html


def test_all_libraries_without_javascript(portal):
    html = portal.client.get("/libraries?all=1").get_data(as_text=True)
    assert html.count('class="choice"') == 13  # the 12 demo libraries + the script's template


def test_suggestions_json(portal):
    response = portal.client.get("/libraries/suggest?q=caen")
    assert response.status_code == 200
    data = response.get_json()
    assert data["query"] == "caen"
    assert {r["code"] for r in data["results"]} >= {CAEN}
    assert set(data["results"][0]) == {"code", "name", "commune", "network"}
    assert portal.client.get("/libraries/suggest?q=c").get_json()["results"] == []
    assert len(portal.client.get("/libraries/suggest?q=m").get_json()["results"]) == 0
    assert len(portal.client.get("/libraries/suggest?q=de").get_json()["results"]) <= 8
    assert portal.client.get("/libraries/suggest?q=" + "x" * 10_000).status_code == 200


def test_choice_is_remembered_and_brands_the_pages(portal):
    token = portal.csrf("/libraries?q=caen")
    response = portal.client.post("/libraries/choose", data={"csrf_token": token, "library": CAEN,
                                                             "next": "/login"})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert portal.client.get_cookie("library").value == CAEN
    login = portal.client.get("/login").get_data(as_text=True)
    assert f'<option value="{CAEN}" selected>' in login
    home = portal.client.get("/").get_data(as_text=True)
    assert "Caen la mer – Bibliothèques" in home  # the network's branding
    assert "#7a1f3d" in home
    assert "Vodeclic" not in home  # offered by the Calvados network only
    assert "Cafeyn" in home


def test_choice_can_be_changed(portal):
    for code in (CAEN, VIRE):
        portal.client.post("/libraries/choose", data={"csrf_token": portal.csrf("/libraries"), "library": code})
    assert portal.client.get_cookie("library").value == VIRE


def test_unknown_choice_is_refused_without_cookie(portal):
    response = portal.client.post("/libraries/choose", data={"csrf_token": portal.csrf("/libraries"),
                                                             "library": "<script>", "next": "//evil.example"})
    assert response.status_code == 302 and response.headers["Location"] == "/libraries"
    assert portal.client.get_cookie("library") is None


def test_choose_without_csrf_is_refused(portal):
    assert portal.client.post("/libraries/choose", data={"library": VIRE}).status_code == 400
    assert portal.client.get_cookie("library") is None


def test_bogus_cookie_is_ignored(portal):
    portal.client.set_cookie("library", "<script>alert(1)</script>")
    response = portal.client.get("/")
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in response.get_data(as_text=True)
    portal.client.set_cookie("library", "FR-000")
    assert portal.client.get("/login").status_code == 200


@pytest.mark.parametrize("query, found", [
    ("Baieux", "Médiathèque Les 7 Lieux"),   # Bayeux, one letter wrong
    ("lisieu", "Lisieux"),                   # one letter missing
    ("tocqueivlle", "Bibliothèque Alexis de Tocqueville"),  # two letters swapped
])
def test_one_typo_is_forgiven(portal, query, found):
    html = portal.client.get("/libraries", query_string={"q": query}).get_data(as_text=True)
    assert found in html, query


def test_typos_rank_after_exact_matches_and_short_words_need_exactness(portal):
    from broker.web.portal.libraries import one_edit_apart

    assert one_edit_apart("baieux", "bayeux") and one_edit_apart("vire", "vier") and one_edit_apart("ifs", "if")
    assert not one_edit_apart("baieu", "bayeux") and not one_edit_apart("caen", "cane s")
    html = portal.client.get("/libraries", query_string={"q": "vir"}).get_data(as_text=True)
    assert "Médiathèque de Vire" in html
    assert "Aucune bibliothèque" in portal.client.get("/libraries?q=zqx").get_data(as_text=True)


def test_search_by_postcode(portal):
    from broker.db.models import Library

    with portal.session() as s:
        s.query(Library).filter_by(code=VIRE).one().address = "Place Sainte-Anne, 14500 Vire Normandie"
    html = portal.client.get("/libraries?q=14500").get_data(as_text=True)
    assert "Médiathèque de Vire" in html and "1 bibliothèque trouvée" in html
    assert "Médiathèque de Vire" in portal.client.get("/libraries?q=145").get_data(as_text=True)
    found = portal.client.get("/libraries/suggest?q=14500").get_json()["results"]
    assert [r["code"] for r in found] == [VIRE]
