"""What patrons read in their e-mails: the sender in the network's name, the portal, the next step, local dates."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from broker.config import load_settings
from broker.domain.memberships import Transition
from broker.errors import ConfigError
from broker.mail.smtp import sender
from broker.services import memberships, patron_account
from broker.testing import MovableClock
from fixtures.demo import VIRE

#: a summer moment: 12:05 UTC is 14:05 in Paris
SUMMER = datetime(2026, 7, 14, 12, 5, tzinfo=UTC)


@pytest.fixture
def frozen():
    """The portal's clock, standing at SUMMER."""
    return MovableClock(at=SUMMER.timestamp())


@pytest.fixture
def portal(make_portal, frozen):
    return make_portal(clock=frozen)


def _last(portal, to: str):
    return [m for m in portal.smtp.messages if m["To"] == to][-1]


def test_registration_mail_is_sent_in_the_network_name_with_local_time_and_portal_link(portal, frozen):
    portal.register(email="thomas.g@example.org")
    mail = _last(portal, "thomas.g@example.org")
    assert mail["From"].addresses[0].display_name == "La Boîte numérique"
    assert mail["From"].addresses[0].addr_spec == "no-reply@localhost"
    text = mail.get_content()
    assert "ressources numériques de la Médiathèque de Vire" in text
    assert "le 14 juillet 2026 à 14:05" in text  # Paris time, not 12:05 UTC
    assert "on 14 July 2026 at 14:05" in text
    assert "http://localhost/" in text
    assert "La Boîte numérique – Médiathèque de Vire" in text


def _registered_then(portal, *steps: tuple[Transition, str]) -> None:
    """Thomas registers at Vire (card V0002); the referent then makes each (transition, reason) of ``steps``."""
    portal.register(email="thomas.g@example.org")
    with portal.session() as s:
        membership = portal.patron(s, "V0002").membership
        for transition, reason in steps:
            memberships.change(portal.runtime, s, membership, transition, actor="referent@vire.example.org",
                               reason=reason)


def test_approval_mail_tells_what_to_do_next(portal, frozen):
    _registered_then(portal, (Transition.APPROVE, ""))
    mail = _last(portal, "thomas.g@example.org")
    assert "validée" in mail["Subject"]
    text = mail.get_content()
    assert f"http://localhost/login?library={VIRE}" in text
    assert "connectez-vous au portail avec votre carte de la Médiathèque de Vire" in text
    assert "log in at the portal" in text
    assert "depuis le 14 juillet 2026 à 14:05" in text


def test_suspension_mail_gives_the_reason_and_the_portal(portal, frozen):
    _registered_then(portal, (Transition.APPROVE, ""), (Transition.SUSPEND, "Carte non renouvelée"))
    text = _last(portal, "thomas.g@example.org").get_content()
    assert "suspendu" in text and "Motif : Carte non renouvelée" in text
    assert f"http://localhost/login?library={VIRE}" in text


def test_closing_mail_reads_right_and_links_the_portal(portal, frozen):
    portal.register(email="thomas.g@example.org")
    with portal.session() as s:
        uid = portal.patron(s, "V0002").uid
    with portal.session() as s:
        assert patron_account.close_account(portal.runtime, s, uid)
    mail = _last(portal, "thomas.g@example.org")
    assert "fermé" in mail["Subject"]
    text = mail.get_content()
    assert "auprès de la Médiathèque de Vire" in text and "14 juillet 2026 à 14:05" in text
    assert f"http://localhost/login?library={VIRE}" in text


def test_mail_from_setting_and_its_deprecated_alias():
    secret = "s" * 40
    settings = load_settings({"secret_key": secret, "mail_from": "Réseau <noreply@bib.example.org>"}, environ={})
    assert sender(settings) == "Réseau <noreply@bib.example.org>"
    assert sender(settings, "La Boîte numérique") == "La Boîte numérique <noreply@bib.example.org>"
    old = load_settings({"secret_key": secret, "smtp_sender": "old@bib.example.org"}, environ={})
    assert old.effective_mail_from == "old@bib.example.org"
    with pytest.raises(ConfigError, match="mail_from"):
        load_settings({"secret_key": secret, "mail_from": "not an address"}, environ={})
