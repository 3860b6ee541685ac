"""A network with more libraries than one list can hold: the login and registration pages send the patron
to the library search first, and every page costs the same whatever the number of libraries."""

from __future__ import annotations

import html
import re

import pytest

from broker.web.portal import forms
from fixtures.demo import VIRE


@pytest.fixture
def large(portal, monkeypatch):
    monkeypatch.setattr(forms, "SELECT_LIMIT", 3)  # the demo's 12 libraries count as "many"
    forms._CHOICES.clear()
    yield portal
    forms._CHOICES.clear()


@pytest.mark.parametrize("path", ["/login", "/register"])
def test_without_a_chosen_library_the_form_offers_the_search_not_a_list(large, path):
    page = large.client.get(f"{path}?next=/account").get_data(as_text=True)
    assert '<select id="library"' not in page and "<option" not in page
    link = re.search(r'<a id="library"[^>]*href="([^"]+)"', page)
    assert link and html.unescape(link.group(1)).startswith("/libraries?next=")
    assert "Chercher ma bibliothèque par nom ou commune" in page


def test_a_chosen_library_is_shown_and_sent_and_the_login_works(large):
    page = large.client.get(f"/login?library={VIRE}").get_data(as_text=True)
    assert f'<input type="hidden" name="library" value="{VIRE}">' in page
    assert "Vire" in page and "Changer de bibliothèque" in page
    assert large.login().status_code == 302  # the form posts library, card and password as before


def test_the_search_then_the_choice_bring_the_patron_back_to_a_ready_form(large):
    token = large.csrf("/libraries?q=vire")
    chosen = large.client.post("/libraries/choose", data={"csrf_token": token, "library": VIRE,
                                                         "next": "/login"})
    assert chosen.status_code == 302 and chosen.headers["Location"].endswith("/login")
    page = large.client.get("/login").get_data(as_text=True)
    assert f'name="library" value="{VIRE}"' in page


def test_posting_without_a_library_names_the_problem_and_links_to_the_search(large):
    token = large.csrf()
    answer = large.client.post("/login", data={"csrf_token": token, "card": "V0001", "password": "4321"})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert 'href="#library"' in page and 'id="library"' in page  # the error summary's link has a target
    assert "Choisissez votre bibliothèque" in page


def test_in_english_too(large):
    page = large.client.get(f"/login?library={VIRE}&lang=en").get_data(as_text=True)
    assert "Change library" in page
