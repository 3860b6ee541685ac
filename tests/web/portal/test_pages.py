"""Catalogue, information pages, refusal pages, logout, and bad input that must never crash."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from broker.domain.access import Reason, Refusal

BAYEUX = "FR-140476101"
CATEGORY_ORDER = ["Cinéma", "Presse", "Formation", "Musique", "Livre", "Jeu vidéo", "Jeunesse"]


def _h2(html: str) -> list[str]:
    return re.findall(r'<h2 id="cat-[^"]+">([^<]+)</h2>', html)


def test_catalogue_by_category_before_a_library_is_chosen(portal):
    html = portal.client.get("/").get_data(as_text=True)
    assert _h2(html) == CATEGORY_ORDER
    assert 'href="/go/cafeyn"' in html and 'aria-label="Accéder à Cafeyn"' in html
    assert "Plus de 1 500 journaux" in html
    assert 'role="search"' in html  # the library finder comes first
    assert "Vodeclic" in html and "Proposé par : La Boîte numérique" in html


def test_catalogue_of_the_logged_in_patrons_network(portal):
    portal.login()
    html = portal.client.get("/").get_data(as_text=True)
    assert "Bonjour Sarah Fontaine" in html
    assert "Vodeclic" in html and "Proposé par" not in html
    assert "À partir de 12 ans." in html  # diGame
    assert "La Boîte numérique" in html


def test_pending_patron_is_told_on_the_catalogue(portal):
    portal.register()
    html = portal.client.get("/").get_data(as_text=True)
    assert "attend sa validation" in html


def test_supplier_text_is_escaped(portal):
    from sqlalchemy import select

    from broker.db.models import Supplier

    with portal.session() as s:
        s.scalar(select(Supplier).where(Supplier.slug == "pnb")).description = "<img src=x onerror=alert(1)>"
    html = portal.client.get("/").get_data(as_text=True)
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html


@pytest.mark.parametrize("path, french, english", [
    ("/terms", "Conditions d'utilisation", "Terms of use"),
    ("/privacy", "Vos données personnelles", "Your personal data"),
    ("/accessibility", "Déclaration d'accessibilité", "Accessibility statement"),
])
def test_information_pages_in_both_languages(portal, path, french, english):
    fr = portal.client.get(path)
    assert fr.status_code == 200 and french in fr.get_data(as_text=True).replace("&#39;", "'")
    en = portal.client.get(path + "?lang=en")
    assert en.status_code == 200 and english in en.get_data(as_text=True)
    assert '<html lang="en">' in en.get_data(as_text=True)


def test_privacy_states_the_retention_settings(make_portal):
    portal = make_portal(retention_usage_events_days=200)
    assert "200 jours" in portal.client.get("/privacy").get_data(as_text=True)


@pytest.mark.parametrize("reason", [r.value for r in Reason])
def test_a_refusal_page_for_every_reason(portal, reason):
    portal.client.post("/libraries/choose", data={"csrf_token": portal.csrf("/libraries"), "library": BAYEUX})
    response = portal.client.get(f"/refusal/{reason}")
    want = {"sigb_unavailable": 503, "unknown_supplier": 404}.get(reason, 403)
    assert response.status_code == want
    html = response.get_data(as_text=True)
    assert f'data-reason="{reason}"' in html
    assert f"<code>{reason}</code>" not in html and f">{reason}<" not in html  # no internal code for the patron
    assert "Médiathèque Les 7 Lieux" in html and "mailto:mediatheque@bayeux.example.org" in html
    assert "<h1>" in html and "Que faire ?" in html
    en = portal.client.get(f"/refusal/{reason}?lang=en").get_data(as_text=True)
    assert "What can you do?" in en


def test_unknown_refusal_code_is_a_plain_404(portal):
    assert portal.client.get("/refusal/whatever").status_code == 404


def test_render_refusal_is_usable_by_providers(demo_db, make_app, tmp_path):
    import shutil

    from broker.web.portal import render_refusal

    copy = tmp_path / "p.db"
    shutil.copy(demo_db(sip2="offline"), copy)
    app: Flask = make_app(database_url=f"sqlite:///{copy}")
    runtime = app.extensions["broker"]

    @app.get("/probe/<code>")
    def probe(code):
        from broker.services import libraries

        with runtime.db.session() as s:
            lib = libraries.get_library(s, BAYEUX)
            return render_refusal(Refusal(Reason(code), "lost"), lib)

    client = app.test_client()
    response = client.get("/probe/card_invalid")
    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert "déclarée perdue" in html and "Médiathèque Les 7 Lieux" in html
    assert client.get("/probe/sigb_unavailable").status_code == 503


def test_logout_confirm_page_then_post(portal):
    portal.login()
    page = portal.client.get("/logout")
    assert page.status_code == 200 and 'action="/logout"' in page.get_data(as_text=True)
    response = portal.client.post("/logout", data={"csrf_token": portal.csrf("/account")})
    assert response.status_code == 302 and response.headers["Location"] == "/logout"
    assert portal.client.get("/account").status_code == 302
    after = portal.client.get("/logout").get_data(as_text=True)
    assert "Vous êtes déconnecté ou déconnectée" in after and 'action="/logout"' not in after


def test_logout_runs_every_logout_hook_even_when_one_fails(portal):
    from broker import hookimpl

    calls = []

    class Broken:
        @hookimpl
        def broker_patron_logout(self, runtime, session):
            raise RuntimeError("SLO endpoint down")

    class Told:
        @hookimpl
        def broker_patron_logout(self, session):
            from broker.web.patron_session import LoggedPatron

            calls.append(LoggedPatron.from_wire(session["patron"]).uid)  # the session still holds the patron
            return ["Cafeyn"]

    pm = portal.runtime.pm
    plugins = [Told(), Broken()]  # the one that fails is called first
    for plugin in plugins:
        pm.register(plugin)
    try:
        portal.login()
        response = portal.client.post("/logout", data={"csrf_token": portal.csrf("/account")})
    finally:
        for plugin in plugins:
            pm.unregister(plugin)
    assert len(calls) == 1 and response.status_code == 302
    assert portal.client.get("/account").status_code == 302
    assert "Cafeyn" in portal.client.get("/logout").get_data(as_text=True)


def test_logout_without_csrf_keeps_the_session(portal):
    portal.login()
    assert portal.client.post("/logout").status_code == 400
    assert portal.client.get("/account").status_code == 200


@pytest.mark.parametrize("method, path, data", [
    ("get", "/?library=%00%ff", None),
    ("get", "/libraries?q=%00%27%22<>", None),
    ("get", "/libraries?next=https://evil.example&q=vire", None),
    ("get", "/go/%E2%80%AE", None),
    ("get", "/go/cafeyn?target=%00", None),
    ("get", "/login?next=%0d%0aSet-Cookie:x=1", None),
    ("get", "/login?library=" + "A" * 5000, None),
    ("get", "/register?library=../../etc/passwd", None),
    ("get", "/refusal/" + "x" * 3000, None),
    ("get", "/account/export", None),
    ("post", "/login", {"library": ["a", "b"], "card": "x"}),
    ("post", "/register", b"\xff\xfe garbage"),
    ("post", "/libraries/choose", {"library": "x" * 100_000}),
])
def test_bad_input_never_crashes(portal, method, path, data):
    response = getattr(portal.client, method)(path, data=data)
    assert response.status_code < 500 or response.status_code == 503
    assert "Traceback" not in response.get_data(as_text=True)


def test_oversized_body_is_refused(portal):
    response = portal.client.post("/login", data={"card": "1" * (2 * 1024 * 1024)})
    assert response.status_code == 413


def test_every_page_has_a_title_a_main_and_one_h1(portal):
    portal.login()
    for path in ("/", "/libraries", "/terms", "/privacy", "/accessibility", "/account", "/account/close",
                 "/logout", "/refusal/age"):
        html = portal.client.get(path).get_data(as_text=True)
        assert re.search(r"<title>[^<]+ – Sésame</title>", html), path
        assert html.count("<h1") == 1, path
        assert '<main id="main"' in html, path


def test_favicon(portal):
    page = portal.client.get("/").get_data(as_text=True)
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page
    icon = portal.client.get("/static/favicon.svg")
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml" and b"<svg" in icon.data
    old = portal.client.get("/favicon.ico")
    assert old.status_code == 301 and old.headers["Location"].endswith("/static/favicon.svg")
