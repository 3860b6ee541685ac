"""CAS single logout: a python-cas client's service receives the logoutRequest for its own ticket."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

from cas import CASClient

from fixtures.live import Browser
from fixtures.logout import log_out


def _service(receiver, path: str) -> tuple[str, str]:
    """A service URL on the receiver and the anchored pattern that registers it."""
    base = f"http://127.0.0.1:{receiver.port}/{path}"
    return f"{base}/", "^" + base.replace(".", "\\.") + "/.*$"


def _ticket(browser: Browser, service: str) -> str:
    answer = browser.follow(browser.live.url("/cas/login?" + urlencode({"service": service})))
    assert answer.status_code == 302, answer.text[:300]
    return parse_qs(urlsplit(answer.headers["Location"]).query)["ticket"][0]


def test_logout_posts_a_logout_request_to_each_service_used(live, service_factory, receiver_factory):
    told_app, quiet_app = receiver_factory(), receiver_factory()
    url, pattern = _service(told_app, "app")
    quiet_url, quiet_pattern = _service(quiet_app, "quiet")
    service_factory(name="Médiathèque numérique", patterns=[pattern], single_logout=True)
    service_factory(name="Sans déconnexion", patterns=[quiet_pattern])  # did not ask for single logout
    browser = Browser(live)
    assert browser.login().status_code == 302
    ticket = _ticket(browser, url)
    client = CASClient(version=3, service_url=url, server_url=live.url("/cas/"))
    user, _attributes, _pgt = client.verify_ticket(ticket)
    assert user
    _ticket(browser, quiet_url)

    page = log_out(browser)

    assert page.status_code == 200
    assert "Médiathèque numérique" in page.text and "Sans déconnexion" not in page.text
    assert quiet_app.received == []
    assert len(told_app.received) == 1
    body = told_app.received[0]
    assert body["path"] == ["/app/"]
    request = body["logoutRequest"][0]
    assert client.verify_logout_request(request, ticket)  # python-cas finds its own ticket as SessionIndex
    assert not client.verify_logout_request(request, ticket + "x")


def test_a_service_that_fails_is_not_listed(live, service_factory, receiver_factory):
    broken = receiver_factory(status=500)
    url, pattern = _service(broken, "app")
    service_factory(name="Service en panne", patterns=[pattern], single_logout=True)
    browser = Browser(live)
    browser.login()
    _ticket(browser, url)
    page = log_out(browser)
    assert len(broken.received) == 1
    assert page.status_code == 200 and "Service en panne" not in page.text
