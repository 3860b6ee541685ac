"""A network admin in a real browser: the dashboard tells of an e-mail that could not be sent; it is sent again."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from broker.clock import utcnow
from broker.db.mail_models import OutboxMessage
from broker.db.models import Network
from fixtures.browser import login_admin


@pytest.fixture
def admin_site(admin_site):
    """The shared ``admin_site`` with one e-mail of the network that could not be sent."""
    app, url = admin_site
    with app.extensions["broker"].db.session() as s:
        net = s.scalar(select(Network).where(Network.slug == "calvados"))
        s.add(OutboxMessage(state="failed", recipient="lea.moreau@example.org", network_id=net.id, attempts=24,
                            subject="Votre accès est rétabli / Your access is restored", body="Bonjour",
                            message_id="<retry.1@localhost>", next_attempt_at=utcnow(), failed_at=utcnow(),
                            last_error="TLS: certificate verify failed: self-signed certificate"))
    return app, url


@pytest.mark.browser
@pytest.mark.xdist_group("browser")
def test_admin_sends_a_failed_e_mail_again(admin_site, page, screenshot, axe_check):
    app, url = admin_site
    login_admin(page, url)

    notice = page.get_by_role("region", name="1 e-mail n'a pas pu être envoyé")
    assert "Votre accès est rétabli" in notice.inner_text()
    axe_check(page, "dashboard with a failed e-mail")
    notice.get_by_role("link").click()
    page.wait_for_url(f"{url}/staff/mail")
    table = page.get_by_role("table", name="E-mails en échec, les plus récents d'abord")
    assert "certificate verify failed" in table.inner_text()
    assert "lea.moreau" not in page.content()
    screenshot(page, "1-failed-mail")
    axe_check(page, "failed e-mails")

    page.get_by_role("button", name="Renvoyer – Votre accès est rétabli / Your access is restored").click()
    page.wait_for_url(f"{url}/staff/mail")
    expect(page.get_by_text("Aucun e-mail en échec.")).to_be_visible()
    expect(page.get_by_text("est remis dans la file d'envoi")).to_be_visible()
    axe_check(page, "failed e-mails, none left")
    assert [m["To"] for m in app.smtp.messages] == ["lea.moreau@example.org"]
