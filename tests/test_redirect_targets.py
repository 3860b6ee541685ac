"""Every parameter that ends up in a ``Location`` header or an auto-POST form, fed any text.

Property: whatever the value, the answer is a redirect to an allowed place
(a path on this site, the supplier's registered address) or a page (the
auto-POST form posting to a registered ACS, an error page with a 4xx) —
never a server error, and the ``Location`` header is always sent as checked.
"""

from __future__ import annotations

import re
import shutil
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixtures.suppliers import ACS, CAS, RP, SP_ENTITY, VIRE, one_supplier_per_protocol

#: characters that break headers or fool parsers, mixed into ordinary text
HOSTILE = st.sampled_from(list("\r\n\t\x00\x0b\x0c\x1b\x7f\x85\xa0 \\/@#?%:.\u2028\u2029\u202e\u200b\ufeffé☃"))
TEXT = st.text(st.one_of(HOSTILE, st.characters(codec="utf-8", exclude_categories=("Cs",))), max_size=40)
PREFIXES = st.sampled_from(["", "/", "//", "/\\", "\\\\", "/account", "/staff/", "/staff/users", "https://",
                            f"{RP}/", f"{RP}", f"{CAS}/", "https://cas.example.org:99999/", "https://xn--/",
                            "https://a..b/", "javascript:", "http://evil.example/", f"{RP}@evil.example/",
                            "%0d%0a", "/%0d%0aSet-Cookie:x=1", "https://évil.example/", "\x00/"])
#: a plausible start, then text with at least one hostile character somewhere
TARGETS = st.builds(lambda prefix, head, bad, tail: prefix + head + bad + tail, PREFIXES, TEXT, HOSTILE, TEXT) | TEXT
CHECKS = settings(max_examples=60, deadline=None, derandomize=True,
                  suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
_SENDABLE = re.compile(r"^[\x21-\x7e]+$")
_FORM = re.compile(r'<form method="post" action="([^"]*)"')


@pytest.fixture(scope="module")
def broker(tmp_path_factory, migrated_sqlite_template, demo_db):
    """The demo network with an OIDC client, a CAS service and a SAML supplier (one app for all examples)."""
    from broker.app import create_app

    folder = tmp_path_factory.mktemp("targets")
    shutil.copy(demo_db(sip2="online"), folder / "demo.db")
    SECRET = "test-secret-key-with-enough-entropy-0123456789"  # the test run's (tests/conftest.py)

    app = create_app({"secret_key": SECRET, "instance_path": str(folder / "instance"), "log_json": True,
                      "base_url": "http://localhost", "database_url": f"sqlite:///{folder / 'demo.db'}",
                      "stats_flush_ms": 0, "login_ip_limit": 1_000_000})
    app.config["TESTING"] = True
    runtime = app.extensions["broker"]
    app.ids = one_supplier_per_protocol(runtime, post_logout_redirect_uris=[f"{RP}/bye"])
    yield app
    runtime.close()


def _client(app, who: str | None = None):
    client = app.test_client()
    if who:
        with client.session_transaction() as sess:
            sess[who] = {**app.ids[who], "at": time.time()}
    return client


def _csrf(client, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def _sent(response) -> str | None:
    """The Location of a redirect, checked to be one printable ASCII URL; None for other answers."""
    assert response.status_code < 500, f"server error {response.status_code}"
    if not 300 <= response.status_code < 400:
        return None
    location = response.headers["Location"]
    assert _SENDABLE.match(location), f"unsendable Location {location!r}"
    return location


def _same_site(location: str | None) -> None:
    if location is not None:
        parts = urlsplit(location)
        assert not parts.scheme and not parts.netloc and location.startswith("/") and not location.startswith("//"), \
            location


# -- next= on the patron and staff logins --------------------------------------------------------
@CHECKS
@given(target=TARGETS)
def test_login_next_for_a_logged_in_patron(broker, target):
    response = _client(broker, "patron").get("/login", query_string={"next": target})
    location = _sent(response)
    assert location is not None
    _same_site(location)


@settings(CHECKS, max_examples=12)  # each example checks a PIN hash (slow on purpose); same code as above
@given(target=TARGETS)
def test_login_next_after_the_right_pin(broker, target):
    client = _client(broker)
    response = client.post("/login", data={"csrf_token": _csrf(client, "/login"), "library": VIRE, "card": "V0001",
                                           "password": "4321", "next": target})
    assert response.status_code == 302
    _same_site(_sent(response))


@CHECKS
@given(target=TARGETS)
def test_library_choice_next(broker, target):
    client = _client(broker)
    response = client.post("/libraries/choose", data={"csrf_token": _csrf(client, "/libraries"), "library": VIRE,
                                                      "next": target})
    _same_site(_sent(response))


@CHECKS
@given(target=TARGETS)
def test_staff_login_next(broker, target):
    response = _client(broker, "staff").get("/staff/login", query_string={"next": target})
    location = _sent(response)
    assert location is not None and location.startswith("/staff/")
    _same_site(location)
    anonymous = _client(broker).get("/staff/login", query_string={"next": target})
    assert anonymous.status_code == 200
    assert 'name="next" value="/staff/' in anonymous.get_data(as_text=True)


# -- /go/<supplier>?target= for each protocol ----------------------------------------------------
def _go(app, supplier: str, target: str, lands: str):
    """A patron follows /go/<supplier>?target=…: (their client, the redirect, checked to start with ``lands``)."""
    client = _client(app, "patron")
    location = _sent(client.get(f"/go/{supplier}", query_string={"target": target}))
    assert location is not None and location.startswith(lands), location
    return client, location


@CHECKS
@given(target=TARGETS)
def test_go_target_oidc(broker, target):
    _go(broker, "cafeyn", target, f"{RP}/")


@CHECKS
@given(target=TARGETS)
def test_go_target_cas(broker, target):
    client, location = _go(broker, "skilleos", target, "/cas/login?service=")
    service = parse_qs(urlsplit(location).query)["service"][0]
    assert service.startswith(f"{CAS}/")
    final = _sent(client.get(location))
    assert final is not None and final.startswith(f"{CAS}/") and "ticket=ST-" in final, final


@CHECKS
@given(target=TARGETS)
def test_go_target_saml(broker, target):
    client, location = _go(broker, "vodeclic", target, "/saml/unsolicited?")
    page = client.get(location)
    assert page.status_code == 200, page.status_code
    assert _FORM.search(page.get_data(as_text=True)).group(1) == ACS


# -- the protocols' own parameters -----------------------------------------------------------------
@CHECKS
@given(relay=TEXT | TARGETS, shire=st.none() | TARGETS | st.just(ACS))
def test_saml_unsolicited_target_and_shire(broker, relay, shire):
    query = {"providerId": SP_ENTITY, "target": relay}
    if shire is not None:
        query["shire"] = shire
    response = _client(broker, "patron").get("/saml/unsolicited", query_string=query)
    assert response.status_code < 500
    if response.status_code == 200:
        html = response.get_data(as_text=True)
        assert _FORM.search(html).group(1) == ACS
    else:
        assert 400 <= response.status_code < 500


@CHECKS
@given(service=TARGETS, gateway=st.booleans(), logged_in=st.booleans())
def test_cas_login_service(broker, service, gateway, logged_in):
    query = {"service": service}
    if gateway:
        query["gateway"] = "true"
    location = _sent(_client(broker, "patron" if logged_in else None).get("/cas/login", query_string=query))
    if location is not None and not location.startswith("/"):
        assert location.startswith(f"{CAS}/"), location


@CHECKS
@given(service=TARGETS)
def test_cas_logout_service(broker, service):
    location = _sent(_client(broker, "patron").get("/cas/logout", query_string={"service": service}))
    assert location is None or location.startswith(f"{CAS}/"), location


@CHECKS
@given(redirect_uri=TARGETS | st.just(f"{RP}/cb"), state=TEXT)
def test_oidc_authorize_redirect_uri_and_state(broker, redirect_uri, state):
    query = {"client_id": broker.ids["client_id"], "redirect_uri": redirect_uri, "response_type": "code",
             "scope": "openid", "state": state, "code_challenge": "A" * 43, "code_challenge_method": "S256"}
    location = _sent(_client(broker, "patron").get("/oidc/authorize", query_string=query))
    if location is not None:
        assert location.startswith(f"{RP}/cb?") or location.startswith("/"), location
        if location.startswith(RP) and state:
            assert parse_qs(urlsplit(location).query)["state"] == [state]


@CHECKS
@given(back=TARGETS | st.just(f"{RP}/bye"), state=TEXT)
def test_oidc_logout_redirect(broker, back, state):
    query = {"client_id": broker.ids["client_id"], "post_logout_redirect_uri": back, "state": state}
    location = _sent(_client(broker).get("/oidc/logout", query_string=query))
    assert location is None or location.startswith(f"{RP}/bye"), location


# -- the helpers themselves ----------------------------------------------------------------------
@settings(max_examples=300, deadline=None)
@given(target=TARGETS)
def test_a_sendable_target_is_what_the_header_carries(target):
    from werkzeug.urls import iri_to_uri

    from broker.web.redirects import same_site_path, sendable

    sent = sendable(target)
    if sent is not None:
        assert _SENDABLE.match(sent) and iri_to_uri(sent) == sent
    path = same_site_path(target, "/fallback")
    assert path == "/fallback" or (path == sent and path.startswith("/") and not path.startswith("//"))


@pytest.mark.parametrize("target", ["/account\r\nSet-Cookie: x=1", "/a\tb", "/a b", "https://a..b/", "/\x85",
                                    "https://cas.example.org:99999/"])
def test_unsendable_targets_are_refused(target):
    from broker.web.redirects import same_site_path, sendable

    assert sendable(target) is None
    assert same_site_path(target, "/home") == "/home"


def test_a_location_that_cannot_be_sent_becomes_a_400(make_app):
    from flask import redirect

    app = make_app()

    @app.get("/bad-location")
    def bad():
        return redirect("https://a..b/")  # a host IDNA cannot encode: Werkzeug would fail while sending it

    response = app.test_client().get("/bad-location")
    assert response.status_code == 400
    assert "Location" not in response.headers
