"""The logout page in a real browser names the suppliers told of the logout, and passes axe-core."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]
VIRE = "FR-147626101"


def test_logout_page_lists_the_services_told(live_server, page, axe_check, receiver_factory):
    from broker.providers.cas.services import register

    receiver = receiver_factory()
    service = f"http://127.0.0.1:{receiver.port}/app/"
    with live_server.runtime.db.session() as s:
        register(live_server.runtime, s, "mediatheque-slo", name="Médiathèque numérique", networks=["calvados"],
                 patterns=["^" + re.escape(f"http://127.0.0.1:{receiver.port}/app/") + ".*$"], single_logout=True)
    page.goto(f"{live_server.url}/login?library={VIRE}")
    page.get_by_label("Numéro de carte").fill("V0001")
    page.get_by_label("Mot de passe ou code PIN").fill("4321")
    page.get_by_role("button", name="Se connecter").click()
    page.request.get(f"{live_server.url}/cas/login?service={service}", max_redirects=0)
    page.goto(f"{live_server.url}/logout")
    page.get_by_role("button", name="Me déconnecter").click()
    expect(page.locator("h1")).to_have_text("Vous êtes déconnecté ou déconnectée")
    told = page.get_by_role("list", name="Services prévenus de votre déconnexion")
    expect(told).to_contain_text("Médiathèque numérique")
    assert len(receiver.received) == 1 and "logoutRequest" in receiver.received[0]
    axe_check(page, "logout with the services told")
