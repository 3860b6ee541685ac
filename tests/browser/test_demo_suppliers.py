"""The demo suppliers in a real browser: from the catalogue's "Accéder" to the supplier's page, over real HTTP.

The demo broker is served with ``demo = true`` on a free port (its base URL is
the live address, so SAML destinations, OIDC redirect URIs and CAS service
URLs are the ones a browser uses); the SAML SP, the OIDC relying party and the
CAS client then talk to it like separate sites (metadata, token endpoint,
ticket validation over HTTP).
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]
VIRE = "FR-147626101"
CARD = "V0001"
NAMES = {"demo-saml": "Démo SAML – fournisseur de test", "demo-oidc": "Démo OpenID Connect – fournisseur de test",
         "demo-cas": "Démo CAS – fournisseur de test"}


@pytest.fixture
def demo_live(serve_demo):
    """The demo network with the demo suppliers, served at http://127.0.0.1:<free port> with demo = true."""
    base, app = serve_demo(sip2="offline")
    assert [d["status"] for d in app.demo_suppliers] == ["added", "added", "added"], app.demo_suppliers
    return base, app


def _log_in(page, base):
    page.goto(f"{base}/login?library={VIRE}")
    page.get_by_label("Numéro de carte").fill(CARD)
    page.get_by_label("Mot de passe ou code PIN").fill("4321")
    page.get_by_role("button", name="Se connecter").click()
    expect(page.locator("h2#status-title")).to_have_text("Bonjour Sarah Fontaine")


def _pairwise(app, slug: str) -> str:
    from broker.services import libraries, patrons, release, suppliers

    runtime = app.extensions["broker"]
    with runtime.db.session() as s:
        patron = patrons.find(runtime, s, libraries.get_library(s, VIRE), CARD)
        return release.subject_id(runtime, patron, suppliers.get_supplier(s, slug))


def _no_card_anywhere(page):
    html = page.content()
    assert CARD not in html and "Sarah" not in html and "Fontaine" not in html


@pytest.mark.parametrize(("slug", "label", "title"), [
    ("demo-saml", "NameID", "Fournisseur de démonstration SAML"),
    ("demo-oidc", "sub", "Fournisseur de démonstration OpenID Connect"),
    ("demo-cas", "user", "Fournisseur de démonstration CAS"),
])
def test_each_demo_supplier_receives_a_login_from_the_catalogue(demo_live, page, axe_check, screenshot,
                                                                 slug, label, title):
    base, app = demo_live
    _log_in(page, base)
    page.get_by_role("link", name=f"Accéder à {NAMES[slug]}").click()
    expect(page.locator("h1")).to_have_text(title)
    assert page.url.startswith(f"{base}/demo/suppliers/{slug[5:]}/")
    expect(page.locator(".lead")).to_contain_text("Connexion réussie")
    dl = page.locator("section", has=page.locator("#identifier-title"))
    expect(dl.locator("dt").first).to_have_text(label)
    pairwise = _pairwise(app, slug)
    expect(page.locator("#identifier")).to_have_text(pairwise)
    expect(page.locator("section", has=page.locator("#library-title"))).to_contain_text(f"Médiathèque de Vire ({VIRE})")
    if slug != "demo-oidc":  # SAML and CAS also carry the scoped pairwise-id attribute
        expect(page.locator("#values")).to_contain_text(f"{pairwise}@calvados.sesame.example.org")
    expect(page.locator("#values")).to_contain_text("member@calvados.sesame.example.org")
    missing = page.locator("#missing")
    expect(missing).to_contain_text("votre numéro de carte")
    expect(missing).to_contain_text("vos nom et prénom")
    _no_card_anywhere(page)
    axe_check(page, f"{slug}, what it received")
    screenshot(page, slug)

    page.goto(page.url.split("?")[0] + "?lang=en")
    expect(page.locator("#missing")).to_contain_text("your card number")
    expect(page.locator("#missing")).to_contain_text("your first and last name")
    axe_check(page, f"{slug}, in English")
    page.goto(base + "/?lang=fr")


@pytest.mark.parametrize("kind", ["saml", "oidc", "cas"])
def test_a_deep_link_lands_on_its_target(demo_live, page, axe_check, kind):
    base, app = demo_live
    _log_in(page, base)
    target = f"{base}/demo/suppliers/{kind}/resource/livres/la-peste?page=3"
    page.goto(f"{base}/go/demo-{kind}?target={quote(target, safe='')}")
    expect(page.locator(".notice")).to_contain_text("livres/la-peste")
    assert page.url == target
    expect(page.locator("#identifier")).to_have_text(_pairwise(app, f"demo-{kind}"))
    _no_card_anywhere(page)
    axe_check(page, f"demo-{kind} deep link")


def test_a_deep_link_elsewhere_stays_on_the_demo_supplier(demo_live, page):
    base, _app = demo_live
    _log_in(page, base)
    page.goto(f"{base}/go/demo-saml?target={quote('https://attacker.example/x', safe='')}")
    expect(page.locator("h1")).to_have_text("Fournisseur de démonstration SAML")
    assert page.url == f"{base}/demo/suppliers/saml/"


def test_the_supplier_starts_the_login_itself_and_logs_out(demo_live, page):
    """A visitor arriving at the supplier first: SP-initiated SAML, then the OIDC login URL, then logout."""
    base, app = demo_live
    page.goto(f"{base}/demo/suppliers/saml/resource/films/42")
    expect(page.locator("h1")).to_have_text("Se connecter")
    page.get_by_label("Votre bibliothèque").select_option(VIRE)
    page.get_by_label("Numéro de carte").fill(CARD)
    page.get_by_label("Mot de passe ou code PIN").fill("4321")
    page.get_by_role("button", name="Se connecter").click()
    expect(page.locator(".notice")).to_contain_text("films/42")
    assert page.url == f"{base}/demo/suppliers/saml/resource/films/42"
    expect(page.locator("#identifier")).to_have_text(_pairwise(app, "demo-saml"))
    page.get_by_role("button", name="Se déconnecter de ce site").click()
    expect(page).to_have_url(f"{base}/")


def test_a_login_that_cannot_be_verified_gets_a_clear_page(demo_live, page, axe_check):
    base, _app = demo_live
    page.goto(f"{base}/demo/suppliers/oidc/callback?code=forged&state=forged")
    expect(page.locator(".lead")).to_have_text("Connexion impossible")
    expect(page.locator("main")).to_contain_text("recommencez depuis le catalogue")
    axe_check(page, "demo supplier error page")
    page.goto(f"{base}/demo/suppliers/oidc/callback?code=forged&state=forged&lang=en")
    expect(page.locator(".lead")).to_have_text("Login failed")
