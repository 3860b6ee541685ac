"""Each reason a patron cannot reach the resources, in a real browser: the home page says it, the buttons
say what a click does, the refusal page gives the referent's reason — and axe-core finds nothing at all."""

from __future__ import annotations

import functools
import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from broker.clock import today
from broker.db.models import Agreement
from broker.domain.memberships import Transition
from broker.services import libraries, memberships, patrons

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]
VIRE = "FR-147626101"
REFEREE = "referent@vire.example.org"


def _patron(runtime, s):
    return patrons.find(runtime, s, libraries.get_library(s, VIRE), "V0001")


def _referent_decides(runtime, transition: Transition, reason: str) -> None:
    with runtime.db.session() as s:
        memberships.change(runtime, s, _patron(runtime, s).membership, transition, actor=REFEREE, reason=reason)


def _no_violation(axe_check, page, label: str) -> None:
    found = axe_check(page, label)
    assert not found, f"axe-core on {label}: {[(v['id'], v['impact'], v['nodes']) for v in found]}"


def _log_in(page, base: str) -> None:
    page.goto(f"{base}/login?library={VIRE}")
    page.get_by_label("Numéro de carte").fill("V0001")
    page.get_by_label("Mot de passe ou code PIN").fill("4321")
    page.get_by_role("button", name="Se connecter").click()
    expect(page.locator("h2#status-title")).to_have_text("Bonjour Sarah Fontaine")


def _home_then_why(page, base: str, axe_check, screenshot, name: str, title: str, *texts: str) -> None:
    page.goto(base + "/")
    notice = page.locator(".standing")
    expect(notice).to_contain_text(title)
    for text in texts:
        expect(notice).to_contain_text(text)
    buttons = page.get_by_role("link", name=re.compile("^Pas accessible : voir pourquoi – "))
    assert buttons.count() >= 3
    assert page.get_by_role("link", name=re.compile("^Accéder à ")).count() == 0
    _no_violation(axe_check, page, f"home, {name}")
    screenshot(page, f"home-{name}")
    buttons.first.click()
    expect(page.locator("h1")).to_have_text(title)
    for text in texts:
        expect(page.locator("main")).to_contain_text(text)
    _no_violation(axe_check, page, f"refusal page, {name}")
    screenshot(page, f"refusal-{name}")


def test_each_refusal_state_on_home_refusal_and_account_pages(live_server, page, axe_check, screenshot):
    base, runtime = live_server.url, live_server.runtime
    _log_in(page, base)
    _no_violation(axe_check, page, "home, active")

    # suspended by the referent, with a reason
    why = functools.partial(_home_then_why, page, base, axe_check, screenshot)
    _referent_decides(runtime, Transition.SUSPEND, "Carte utilisée par une autre personne")
    why("suspended", "Votre accès est suspendu", "Carte utilisée par une autre personne")
    page.goto(base + "/account")
    expect(page.locator(".state")).to_have_text("Suspendue")
    expect(page.locator("main")).to_contain_text("Carte utilisée par une autre personne")
    _no_violation(axe_check, page, "account, suspended")

    # pending, then refused with a reason
    with runtime.db.session() as s:
        _patron(runtime, s).membership.state = "pending"
    why("pending", "Votre inscription attend sa validation")
    page.goto(base + "/account")
    expect(page.locator(".state")).to_have_text("En attente de validation")
    _no_violation(axe_check, page, "account, pending")
    _referent_decides(runtime, Transition.REFUSE, "Aucune carte à ce nom chez nous")
    why("refused", "Votre inscription n'a pas été validée", "Aucune carte à ce nom chez nous")

    # active again, but the card has expired
    with runtime.db.session() as s:
        row = _patron(runtime, s)
        row.membership.state = "active"
        row.card_expires = date(2021, 3, 31)
    why("card-expired", "Votre carte n'est pas valide", "Votre carte de bibliothèque est expirée")

    # a valid card, but the commune's agreement has ended
    with runtime.db.session() as s:
        row = _patron(runtime, s)
        row.card_expires = date(2030, 12, 31)
        for agreement in s.scalars(select(Agreement).where(Agreement.partner_id == row.library.partner_id)):
            agreement.end = today() - timedelta(days=3)
    why("agreement-ended", "Votre bibliothèque ne participe pas au service en ce moment", "L'accord a pris fin le")
    page.goto(base + "/account")
    expect(page.locator(".state")).to_have_text("Active")
    expect(page.locator(".standing")).to_contain_text("ne participe pas au service")
    _no_violation(axe_check, page, "account, agreement ended")


@pytest.mark.parametrize("card", ["V0001", "NOBODY77"])
def test_lockout_says_until_when_for_known_and_unknown_cards(live_server, page, axe_check, card):
    page.goto(f"{live_server.url}/login?library={VIRE}")
    failures = live_server.runtime.settings.login_card_failures
    for _ in range(failures):
        page.get_by_label("Numéro de carte").fill(card)
        page.get_by_label("Mot de passe ou code PIN").fill("0000")
        page.get_by_role("button", name="Se connecter").click()
    summary = page.locator("#error-summary")
    expect(summary.locator("h2")).to_have_text("Connexion impossible")
    expect(summary).to_contain_text(re.compile(r"bloquée jusqu'à \d\d:\d\d \(heure de Paris\)"))
    _no_violation(axe_check, page, f"login, locked ({card})")


def test_deep_link_login_names_the_resource(live_server, page, axe_check):
    page.goto(f"{live_server.url}/go/cafeyn?target=/magazines/42")
    expect(page.locator("main .lead").first).to_have_text("Connectez-vous pour accéder à Cafeyn.")
    assert page.title().startswith("Se connecter – Cafeyn")
    _no_violation(axe_check, page, "login for a resource")


def test_a_disabled_library_says_why_on_home_and_refusal_pages(live_server, page, axe_check, screenshot):
    base, runtime = live_server.url, live_server.runtime
    _log_in(page, base)
    with runtime.db.session() as s:
        libraries.set_enabled(runtime, s, VIRE, False, actor="admin@calvados.example.org")
    _home_then_why(page, base, axe_check, screenshot, "library-disabled",
                   "Votre bibliothèque a quitté le service pour le moment", "votre inscription est conservée")
