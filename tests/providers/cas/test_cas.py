"""CAS 3.0 driven by python-cas (an independent CAS client) over real HTTP."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import requests
from sqlalchemy import select

from broker.db.models import UsageEvent
from broker.domain.identifiers import pairwise_id
from fixtures.live import VIRE, Browser


def _ticket_for(browser, live, service: str, **params) -> str:
    answer = browser.follow(live.url("/cas/login?" + urlencode({"service": service, **params})))
    assert answer.status_code == 302, answer.text[:300]
    location = answer.headers["Location"]
    assert location.startswith(service.split("?")[0]), location
    return parse_qs(urlsplit(location).query)["ticket"][0]


def _validate(live, path, service, ticket, **params):
    return requests.get(live.url(path), params={"service": service, "ticket": ticket, **params}, timeout=10)


def test_python_cas_validates_a_ticket_once_and_only_once(live, patron, service_factory, cas_client):
    slug, base = service_factory(release=["library", "network"])
    service = f"{base}/login?next=%2Fmagazines"
    ticket = _ticket_for(patron, live, service)
    assert ticket.startswith("ST-") and len(ticket) >= 32
    client = cas_client(service)
    user, attributes, pgtiou = client.verify_ticket(ticket)
    uid = _uid(live)
    assert user == pairwise_id(live.runtime.keys.pairwise, uid, slug)
    assert "V0001" not in user
    assert attributes["library"] == VIRE and attributes["network"] == "calvados"
    assert attributes["eduPersonEntitlement"] == "urn:mace:dir:entitlement:common-lib-terms"
    assert attributes["isFromNewLogin"] == "false" and pgtiou is None
    assert client.verify_ticket(ticket) == (None, {}, None)  # single use
    with live.runtime.db.session() as s:
        assert "granted" in set(s.scalars(select(UsageEvent.outcome).where(UsageEvent.protocol == "cas")))


def test_cas2_answer_has_no_attributes_and_json_format(live, patron, service_factory, cas_client):
    _, base = service_factory()
    service = f"{base}/"
    user, attributes, _ = cas_client(service, version=2).verify_ticket(_ticket_for(patron, live, service))
    assert user and not attributes
    ticket = _ticket_for(patron, live, service)
    body = _validate(live, "/cas/p3/serviceValidate", service, ticket, format="JSON").json()
    success = body["serviceResponse"]["authenticationSuccess"]
    assert success["user"] == user and success["attributes"]["eduPersonScopedAffiliation"]
    body = _validate(live, "/cas/p3/serviceValidate", service, ticket, format="JSON").json()
    assert body["serviceResponse"]["authenticationFailure"]["code"] == "INVALID_TICKET"


def test_two_services_get_different_users(live, patron, service_factory, cas_client):
    users = []
    for _ in range(2):
        _, base = service_factory()
        service = f"{base}/"
        users.append(cas_client(service).verify_ticket(_ticket_for(patron, live, service))[0])
    assert users[0] != users[1]


def test_ticket_for_another_service_is_refused(live, patron, service_factory, cas_client):
    _, base = service_factory()
    _, other = service_factory()
    ticket = _ticket_for(patron, live, f"{base}/a")
    assert cas_client(f"{base}/b").verify_ticket(ticket) == (None, {}, None)
    # the ticket is spent even for its own service now
    answer = _validate(live, "/cas/serviceValidate", f"{base}/a", ticket)
    assert 'code="INVALID_TICKET"' in answer.text
    ticket = _ticket_for(patron, live, f"{base}/a")
    answer = _validate(live, "/cas/serviceValidate", f"{other}/a", ticket)
    assert 'code="INVALID_SERVICE"' in answer.text and answer.status_code == 200


def test_expired_ticket(live, patron, service_factory, monkeypatch):
    tickets = live.runtime.cas_tickets
    monkeypatch.setattr(tickets, "lifetime", 1)
    _, base = service_factory()
    ticket = _ticket_for(patron, live, f"{base}/")
    live.clock.advance(1.3)
    assert 'code="INVALID_TICKET"' in _validate(live, "/cas/p3/serviceValidate", f"{base}/", ticket).text


def test_malformed_validation_requests(live):
    assert 'code="INVALID_REQUEST"' in _validate(live, "/cas/serviceValidate", "", "").text
    assert 'code="INVALID_TICKET_SPEC"' in _validate(live, "/cas/serviceValidate", "https://x/", "PT-1").text
    assert 'code="INVALID_TICKET"' in _validate(live, "/cas/serviceValidate", "https://x/", "ST-" + "0" * 48).text
    answer = _validate(live, "/cas/proxyValidate", "https://x/", "ST-" + "0" * 48)
    assert 'code="INVALID_REQUEST"' in answer.text and "proxy" in answer.text


def test_without_session_the_patron_logs_in_and_comes_back(live, browser, service_factory, cas_client):
    _, base = service_factory()
    service = f"{base}/"
    answer = browser.get(live.url("/cas/login?" + urlencode({"service": service})))
    assert answer.headers["Location"].startswith("/login?")
    back = browser.login_via(answer)
    ticket = parse_qs(urlsplit(back.headers["Location"]).query)["ticket"][0]
    user, attributes, _ = cas_client(service).verify_ticket(ticket)
    assert user and attributes["isFromNewLogin"] == "true"


def test_gateway_without_session_returns_without_ticket(live, browser, service_factory):
    _, base = service_factory()
    service = f"{base}/?page=1"
    answer = browser.get(live.url("/cas/login?" + urlencode({"service": service, "gateway": "true"})))
    assert answer.status_code == 302 and answer.headers["Location"] == service


def test_gateway_with_session_gives_a_ticket(live, patron, service_factory):
    _, base = service_factory()
    assert _ticket_for(patron, live, f"{base}/", gateway="true").startswith("ST-")


def test_renew_forces_a_login(live, service_factory, cas_client):
    _, base = service_factory()
    service = f"{base}/"
    browser = Browser(live)
    browser.login()
    # a ticket from the existing session does not satisfy renew at validation
    ticket = _ticket_for(browser, live, service)
    answer = _validate(live, "/cas/p3/serviceValidate", service, ticket, renew="true")
    assert 'code="INVALID_TICKET"' in answer.text
    # renew at login sends the patron to the login form even with a session
    answer = browser.get(live.url("/cas/login?" + urlencode({"service": service, "renew": "true"})))
    location = answer.headers["Location"]
    assert location.startswith("/login?") and "renew=1" in location
    # coming back without logging in gets no ticket
    next_url = parse_qs(urlsplit(location).query)["next"][0]
    assert browser.get(live.url(next_url)).headers["Location"].startswith("/login?")
    back = browser.login_via(answer)
    ticket = parse_qs(urlsplit(back.headers["Location"]).query)["ticket"][0]
    answer = _validate(live, "/cas/p3/serviceValidate", service, ticket, renew="true")
    assert "<cas:authenticationSuccess>" in answer.text
    assert "<cas:isFromNewLogin>true</cas:isFromNewLogin>" in answer.text


def test_unregistered_service_gets_an_error_page(live, patron, service_factory):
    _, base = service_factory()
    for service in ("https://evil.example.org/", f"{base}.evil.example.org/", "javascript:alert(1)",
                    f"{base}/\n", "x" * 3000):
        answer = patron.get(live.url("/cas/login?" + urlencode({"service": service})))
        assert answer.status_code == 403, service
        assert "Location" not in answer.headers
        assert "autorisé" in answer.text


def test_logout(live, service_factory):
    _, base = service_factory()
    browser = Browser(live)
    browser.login()
    answer = browser.get(live.url("/cas/logout?" + urlencode({"service": f"{base}/bye"})))
    assert answer.status_code == 302 and answer.headers["Location"] == f"{base}/bye"
    assert browser.get(live.url("/cas/login?" + urlencode({"service": f"{base}/"}))).headers[
        "Location"].startswith("/login?")
    answer = browser.get(live.url("/cas/logout?service=https://evil.example.org/"))
    assert answer.status_code == 200 and "Location" not in answer.headers


def test_refused_access_shows_the_refusal_page(live, service_factory, pending_patron):
    browser = pending_patron
    _, base = service_factory()
    answer = browser.get(live.url("/cas/login?" + urlencode({"service": f"{base}/"})))
    assert answer.status_code == 403 and "attend sa validation" in answer.text
    answer = browser.get(live.url("/cas/login?" + urlencode({"service": f"{base}/", "gateway": "true"})))
    assert answer.headers["Location"] == f"{base}/"
    with live.runtime.db.session() as s:
        assert "membership_pending" in set(s.scalars(select(UsageEvent.outcome).where(UsageEvent.protocol == "cas")))


def test_deep_link(live, patron, service_factory, cas_client):
    slug, base = service_factory()
    answer = patron.get(live.url(f"/go/{slug}?" + urlencode({"target": f"{base}/film/42"})))
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/cas/login?service=")
    back = patron.follow(live.url(answer.headers["Location"]))
    ticket = parse_qs(urlsplit(back.headers["Location"]).query)["ticket"][0]
    assert cas_client(f"{base}/film/42").verify_ticket(ticket)[0]
    # without a target: the login URL, through a ticket when it is a registered service URL
    _, base = service_factory("cas-go-a", login_url="https://cas-client.example.org/cas-go-a/start")
    answer = patron.get(live.url("/go/cas-go-a"))
    assert parse_qs(urlsplit(answer.headers["Location"]).query) == {"service": [f"{base}/start"]}
    service_factory("cas-go-b", login_url="https://portal.cas-client.example.org/")
    assert patron.get(live.url("/go/cas-go-b")).headers["Location"] == "https://portal.cas-client.example.org/"
    # a target that is not a registered service is never used
    answer = patron.get(live.url("/go/cas-go-b?target=https://elsewhere.example.org/"))
    assert answer.headers["Location"] == "https://portal.cas-client.example.org/"


def _uid(live) -> str:
    from broker.services import libraries, patrons

    with live.runtime.db.session() as s:
        return patrons.find(live.runtime, s, libraries.get_library(s, VIRE), "V0001").uid



def test_the_service_url_comes_back_unchanged_but_for_the_ticket(live, patron, service_factory, cas_client):
    _, base = service_factory()
    service = f"{base}/search?q=a+b%20c&empty=#results"
    answer = patron.follow(live.url("/cas/login?" + urlencode({"service": service})))
    location = answer.headers["Location"]
    ticket = parse_qs(urlsplit(location).query)["ticket"][0]
    assert location == f"{base}/search?q=a+b%20c&empty=&ticket={ticket}#results"
    assert cas_client(service).verify_ticket(ticket)[0]
