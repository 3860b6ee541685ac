"""``/go/<supplier>``: every membership state against every access rule, then the way into the resource."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from broker import hookimpl
from broker.db.models import Agreement, Network, Supplier, UsageEvent
from broker.domain.access import Refusal
from broker.providers import ProviderSpec
from broker.services import suppliers

VIRE = "FR-147626101"
STATES = ("active", "pending", "refused", "suspended", "expired", "closed")
#: the conditions a test can set, in the order the access decision checks them (docs/portal.md; membership
#: sits after the card)
CONDITIONS = ("none", "card_invalid", "partner_inactive", "not_in_bundle", "age", "policy")
MEMBERSHIP_REASON = {"pending": "membership_pending", "refused": "membership_refused",
                     "suspended": "membership_suspended", "expired": "membership_expired",
                     "closed": "not_registered"}


def expected(state: str, condition: str) -> str:
    """What the patron must get, written from docs/portal.md ("The access decision") independently of the code."""
    if condition == "card_invalid":
        return "card_invalid"
    if state != "active":
        return MEMBERSHIP_REASON[state]
    return "granted" if condition == "none" else condition


class Policy:
    """A plugin policy that refuses when switched on."""

    active = False

    @hookimpl
    def broker_access_check(self, patron, library, supplier):
        if self.active and supplier.slug == "matrix":
            return Refusal("policy", "Réservé aux <abonnés> du club")
        return None


@pytest.fixture
def matrix(portal):
    with portal.session() as s:
        suppliers.add_supplier(portal.runtime, s, "matrix", name="Matrix", networks=["calvados"],
                               category="presse", login_url="https://matrix.example.org/login", actor="test")
    policy = Policy()
    portal.runtime.pm.register(policy)
    assert portal.login().status_code == 302
    return portal, policy


def _set(portal, policy, state: str, condition: str) -> None:
    with portal.session() as s:
        patron = portal.patron(s, "V0001")
        patron.membership.state = state
        patron.card_problem = "lost" if condition == "card_invalid" else None
        partner = patron.library.partner
        for agreement in s.scalars(select(Agreement).where(Agreement.partner_id == partner.id)):
            agreement.end = date.today() - timedelta(days=1) if condition == "partner_inactive" else date(2027, 12, 31)
        supplier = s.scalar(select(Supplier).where(Supplier.slug == "matrix"))
        slug = "caen-la-mer" if condition == "not_in_bundle" else "calvados"
        supplier.networks = [s.scalar(select(Network).where(Network.slug == slug))]
        supplier.min_age = 99 if condition == "age" else None
    policy.active = condition == "policy"


def test_every_state_against_every_rule(matrix):
    portal, policy = matrix
    wrong = []
    for state in STATES:
        for condition in CONDITIONS:
            _set(portal, policy, state, condition)
            response = portal.client.get("/go/matrix")
            want = expected(state, condition)
            if want == "granted":
                got = "granted" if response.status_code == 302 and \
                    response.headers["Location"] == "https://matrix.example.org/login" else response.status_code
            else:
                html = response.get_data(as_text=True)
                got = want if response.status_code == 403 and f'data-reason="{want}"' in html else \
                    f"{response.status_code} {html[html.find('data-reason='):html.find('data-reason=') + 40]}"
            if got != want:
                wrong.append((state, condition, want, got))
    assert wrong == []
    with portal.session() as s:
        outcomes = [e.outcome for e in s.scalars(select(UsageEvent).where(UsageEvent.protocol == "go"))]
    assert len(outcomes) == len(STATES) * len(CONDITIONS)
    assert outcomes.count("granted") == 1
    assert "membership_suspended" in outcomes and "policy" in outcomes


def test_policy_message_is_shown_escaped(matrix):
    portal, policy = matrix
    _set(portal, policy, "active", "policy")
    html = portal.client.get("/go/matrix").get_data(as_text=True)
    assert "Réservé aux &lt;abonnés&gt; du club" in html


def test_age_refusal_names_the_range(matrix):
    portal, policy = matrix
    _set(portal, policy, "active", "age")
    html = portal.client.get("/go/matrix").get_data(as_text=True)
    assert "99 ans et plus" in html


def test_refusal_names_the_library_to_contact(matrix):
    portal, policy = matrix
    _set(portal, policy, "suspended", "none")
    html = portal.client.get("/go/matrix").get_data(as_text=True)
    assert "Médiathèque de Vire" in html
    assert "bdc@calvados.example.org" in html  # Vire has no contact of its own: the network's


def test_unknown_supplier_is_404_logged_in_or_not(portal):
    response = portal.client.get("/go/nothing-here")
    assert response.status_code == 404
    assert 'data-reason="unknown_supplier"' in response.get_data(as_text=True)
    assert portal.client.get("/go/" + "x" * 500).status_code == 404
    portal.login()
    assert portal.client.get("/go/nothing-here").status_code == 404


def test_disabled_supplier_says_it_is_suspended(portal):
    with portal.session() as s:
        s.scalar(select(Supplier).where(Supplier.slug == "cafeyn")).enabled = False
    portal.login()
    response = portal.client.get("/go/cafeyn")
    assert response.status_code == 403 and 'data-reason="supplier_disabled"' in response.get_data(as_text=True)
    assert "Ressource suspendue par le réseau" in response.get_data(as_text=True)


def test_anonymous_patron_goes_to_login_and_comes_back_with_the_target(portal):
    response = portal.client.get("/go/cafeyn?target=https://cafeyn.example/mag/42")
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login"
    back = parse_qs(location.query)["next"][0]
    assert back == "/go/cafeyn?target=https://cafeyn.example/mag/42"
    login = portal.login(next=back)
    assert login.headers["Location"] == back


def test_provider_deep_link_gets_the_target(portal):
    calls = []

    def deep_link(supplier, target):
        calls.append((supplier.slug, target))
        return f"https://idp.example/start?sp={supplier.slug}"

    portal.runtime.providers["testproto"] = ProviderSpec("testproto", blueprint=lambda rt: None, deep_link=deep_link)
    with portal.session() as s:
        s.scalar(select(Supplier).where(Supplier.slug == "cafeyn")).protocol = "testproto"
        s.scalar(select(Supplier).where(Supplier.slug == "cafeyn")).login_url = "https://never.example/"
    portal.login()
    response = portal.client.get("/go/cafeyn?target=https://cafeyn.example/mag/42")
    assert response.status_code == 302
    assert response.headers["Location"] == "https://idp.example/start?sp=cafeyn"
    assert calls == [("cafeyn", "https://cafeyn.example/mag/42")]
    # the provider records its own issuance: /go does not count this one
    with portal.session() as s:
        assert s.scalars(select(UsageEvent)).all() == []
    # an oversized target is dropped, never passed on
    portal.client.get("/go/cafeyn?target=" + "a" * 3000)
    assert calls[-1] == ("cafeyn", None)


def test_failing_deep_link_is_a_503_not_a_crash(portal):
    def deep_link(supplier, target):
        raise RuntimeError("provider bug")

    portal.runtime.providers["broken"] = ProviderSpec("broken", blueprint=lambda rt: None, deep_link=deep_link)
    with portal.session() as s:
        s.scalar(select(Supplier).where(Supplier.slug == "cafeyn")).protocol = "broken"
    portal.login()
    assert portal.client.get("/go/cafeyn").status_code == 503


def test_target_is_never_a_redirect_of_its_own(portal):
    with portal.session() as s:
        s.scalar(select(Supplier).where(Supplier.slug == "cafeyn")).login_url = "https://cafeyn.example/login"
    portal.login()
    response = portal.client.get("/go/cafeyn?target=https://evil.example/")
    assert response.headers["Location"] == "https://cafeyn.example/login"


def test_granted_without_any_address_explains(portal):
    portal.login()
    response = portal.client.get("/go/cafeyn")
    assert response.status_code == 200
    assert "Vous avez bien accès à cette ressource" in response.get_data(as_text=True)


def test_non_http_login_url_is_not_followed(portal):
    with portal.session() as s:
        s.scalar(select(Supplier).where(Supplier.slug == "cafeyn")).login_url = "javascript:alert(1)"
    portal.login()
    response = portal.client.get("/go/cafeyn")
    assert response.status_code == 200
    assert "javascript:" not in response.get_data(as_text=True)


def test_a_disabled_library_refuses_its_patrons_with_a_page_that_says_why(matrix):
    from broker.db.models import AuditEvent, Membership
    from broker.services import libraries

    portal, policy = matrix
    _set(portal, policy, "active", "none")
    assert portal.client.get("/go/matrix").status_code == 302  # the library is in the cache now
    with portal.session() as s:
        libraries.set_enabled(portal.runtime, s, VIRE, False, actor="admin@calvados.fr")
    response = portal.client.get("/go/matrix")
    html = response.get_data(as_text=True)
    assert response.status_code == 403 and 'data-reason="library_disabled"' in html
    assert "Votre bibliothèque a quitté le service pour le moment" in html
    assert "votre inscription est conservée" in html
    with portal.session() as s:
        assert s.scalar(select(Membership).join(Membership.patron).where(
            Membership.state == "active")) is not None  # nothing deleted, nothing changed
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "library.disable")).one()
        assert event.actor == "admin@calvados.fr" and event.target == VIRE
        assert event.detail == {"before": {"enabled": True}, "after": {"enabled": False}}
    with portal.session() as s:
        libraries.set_enabled(portal.runtime, s, VIRE, True, actor="admin@calvados.fr")
    assert portal.client.get("/go/matrix").status_code == 302


def test_the_refusal_page_for_a_disabled_library_in_english(portal):
    html = portal.client.get("/refusal/library_disabled", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Your library has left the service for the moment" in html
    assert "your registration is kept" in html
