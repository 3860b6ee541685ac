"""What the state store keeps for a service ticket, and what a damaged entry does: an unknown ticket."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from broker.providers.cas.tickets import PREFIX, Ticket

DAMAGED = {
    "text": lambda e: "garbage",
    "list": lambda e: [e],
    "empty": lambda e: {},
    "service_list": lambda e: {**e, "s": [e["s"]]},
    "attributes_text": lambda e: {**e, "a": "library"},
    "new_login_text": lambda e: {**e, "n": "no"},
}


def _ticket(browser, live, service: str) -> str:
    answer = browser.follow(live.url("/cas/login?" + urlencode({"service": service})))
    assert answer.status_code == 302, answer.text[:300]
    return parse_qs(urlsplit(answer.headers["Location"]).query)["ticket"][0]


def _validate(live, service: str, ticket: str) -> dict:
    answer = requests.get(live.url("/cas/p3/serviceValidate"),
                          params={"service": service, "ticket": ticket, "format": "JSON"}, timeout=10)
    assert answer.status_code == 200, answer.text[:300]
    return answer.json()["serviceResponse"]


def test_a_ticket_is_stored_in_its_short_form(live, patron, service_factory):
    _, base = service_factory(release=["library"])
    service = f"{base}/"
    value = _ticket(patron, live, service)
    entry = live.runtime.state.get(PREFIX + live.runtime.keys.token_hash(value))
    assert list(entry) == ["s", "u", "a", "n", "t"]
    ticket = Ticket.from_wire(entry)
    assert ticket.service == service and ticket.to_wire() == entry
    assert _validate(live, service, value)["authenticationSuccess"]["user"] == ticket.user


@pytest.mark.parametrize("damage", list(DAMAGED.values()), ids=list(DAMAGED))
def test_a_damaged_ticket_is_an_unknown_ticket(live, patron, service_factory, damage):
    _, base = service_factory()
    service = f"{base}/"
    value = _ticket(patron, live, service)
    key = PREFIX + live.runtime.keys.token_hash(value)
    live.runtime.state.put(key, damage(live.runtime.state.get(key)), 10)
    assert _validate(live, service, value)["authenticationFailure"]["code"] == "INVALID_TICKET"
