"""The demo suppliers without a browser: served only with demo = true, registered once, following base_url.

The logins themselves run in Chromium (tests/browser/test_demo_suppliers.py).
"""

from __future__ import annotations

import shutil

import pytest
from lxml import etree
from sqlalchemy import func, select

from broker.db.models import AuditEvent, Supplier
from broker.demo_suppliers import registration
from broker.demo_suppliers.kinds import KINDS, SAML_ENTITY_ID
from broker.demo_suppliers.sessions import local_target

BASE = "http://127.0.0.1:5000"
OTHER = "http://127.0.0.1:5055"
PATHS = ["/demo/suppliers/saml/", "/demo/suppliers/oidc/", "/demo/suppliers/cas/", "/demo/suppliers/saml/metadata",
         "/demo/suppliers/oidc/login", "/demo/suppliers/oidc/callback?code=x&state=y",
         "/demo/suppliers/cas/resource/a?ticket=ST-1"]


@pytest.fixture
def make_demo_app(make_app, demo_db, tmp_path):
    """The demo network (no demo supplier yet) on its own copy; ``make_demo_app(**settings)``."""

    def build(**settings):
        copy = tmp_path / f"demo-{len(list(tmp_path.glob('demo-*.db')))}.db"
        shutil.copy(demo_db(sip2="offline"), copy)
        settings = {"base_url": BASE, "demo": True, "plugins_load_entrypoints": False, **settings}
        return make_app(database_url=f"sqlite:///{copy}", **settings)

    return build


def _register(app, base_url=None):
    runtime = app.extensions["broker"]
    with runtime.db.session() as s:
        return registration.register(runtime, s, base_url)


def _rows(app):
    runtime = app.extensions["broker"]
    with runtime.db.session() as s:
        rows = {r.slug: r for r in s.scalars(select(Supplier).where(Supplier.slug.like("demo-%")))}
        for r in rows.values():
            r.networks  # noqa: B018  (loaded before leaving the session)
            s.expunge(r)
        return rows, s.scalar(select(func.count(Supplier.id))), s.scalar(select(func.count(AuditEvent.id)))


@pytest.mark.parametrize("path", PATHS)
def test_routes_answer_404_when_demo_is_false(make_demo_app, path):
    client = make_demo_app(demo=False).test_client()
    assert client.get(path).status_code == 404
    assert client.post("/demo/suppliers/saml/acs", data={"SAMLResponse": "x"}).status_code == 404


def test_the_sp_metadata_is_served_in_demo_mode(make_demo_app):
    response = make_demo_app().test_client().get("/demo/suppliers/saml/metadata")
    assert response.status_code == 200 and response.mimetype == "application/samlmetadata+xml"
    root = etree.fromstring(response.data)
    assert root.get("entityID") == SAML_ENTITY_ID
    ns = {"md": "urn:oasis:names:tc:SAML:2.0:metadata"}
    assert root.xpath("//md:AssertionConsumerService/@Location", namespaces=ns) == [f"{BASE}/demo/suppliers/saml/acs"]


def test_registration_is_done_once_and_follows_the_base_url(make_demo_app):
    app = make_demo_app()
    assert [r["status"] for r in _register(app)] == ["added", "added", "added"]
    first, count, audits = _rows(app)
    assert {r.protocol for r in first.values()} == {"saml", "oidc", "cas"}
    assert f"{BASE}/demo/suppliers/saml/acs" in first["demo-saml"].config["metadata"]
    assert first["demo-oidc"].config["oidc"]["redirect_uris"] == [f"{BASE}/demo/suppliers/oidc/callback"]
    assert first["demo-oidc"].login_url == f"{BASE}/demo/suppliers/oidc/login"
    assert first["demo-cas"].login_url == f"{BASE}/demo/suppliers/cas/"

    # again at the same address: nothing changes, nothing is written
    assert [r["status"] for r in _register(app)] == ["unchanged", "unchanged", "unchanged"]
    again, count_again, audits_again = _rows(app)
    assert (count_again, audits_again) == (count, audits)

    # at another address (another port): updated in place, same suppliers and same client ID
    assert [r["status"] for r in _register(app, OTHER)] == ["updated", "updated", "updated"]
    moved, count_moved, _ = _rows(app)
    assert count_moved == count
    assert {s: r.id for s, r in moved.items()} == {s: r.id for s, r in first.items()}
    assert moved["demo-oidc"].oidc_client_id == first["demo-oidc"].oidc_client_id
    assert moved["demo-saml"].saml_entity_id == SAML_ENTITY_ID
    assert f"{OTHER}/demo/suppliers/saml/acs" in moved["demo-saml"].config["metadata"]
    assert f"{BASE}/" not in moved["demo-saml"].config["metadata"]
    assert moved["demo-oidc"].config["oidc"]["redirect_uris"] == [f"{OTHER}/demo/suppliers/oidc/callback"]
    assert moved["demo-cas"].config["cas"]["service_patterns"] == [registration.cas_pattern(OTHER)]
    assert moved["demo-cas"].login_url == f"{OTHER}/demo/suppliers/cas/"


def test_the_demo_suppliers_are_offered_by_both_demo_networks(make_demo_app):
    app = make_demo_app()
    _register(app)
    rows, _, _ = _rows(app)
    assert set(rows) == {k.slug for k in KINDS.values()}
    for row in rows.values():
        assert {n.slug for n in row.networks} == {"calvados", "caen-la-mer"}
        assert row.description and row.enabled


def test_the_oidc_client_secret_is_not_stored(make_demo_app):
    app = make_demo_app()
    _register(app)
    rows, _, _ = _rows(app)
    runtime = app.extensions["broker"]
    secret = registration.oidc_client_secret(runtime)
    assert secret not in str(rows["demo-oidc"].config)
    assert rows["demo-oidc"].config["oidc"]["secret_hash"] == runtime.keys.token_hash(secret)


def test_a_supplier_registered_for_another_address_says_so(make_demo_app):
    app = make_demo_app()
    _register(app, OTHER)
    for kind in ("saml", "oidc", "cas"):
        response = app.test_client().get(f"/demo/suppliers/{kind}/")
        assert response.status_code == 503
        assert "relancez « broker demo »" in response.get_data(as_text=True)


def test_an_unregistered_supplier_says_how_to_register_it(make_demo_app):
    response = make_demo_app().test_client().get("/demo/suppliers/oidc/?lang=en")
    assert response.status_code == 503
    assert "run “broker demo”" in response.get_data(as_text=True)


def test_a_forged_callback_or_acs_post_is_a_clear_4xx(make_demo_app):
    app = make_demo_app()
    _register(app)
    client = app.test_client()
    forged = client.get("/demo/suppliers/oidc/callback?code=abc&state=forged")
    assert forged.status_code == 400 and "Connexion impossible" in forged.get_data(as_text=True)
    denied = client.get("/demo/suppliers/oidc/callback?error=access_denied&state=x")
    assert denied.status_code == 400
    empty = client.post("/demo/suppliers/saml/acs", data={})
    assert empty.status_code == 400
    assert client.get("/demo/suppliers/ldap/").status_code == 404


@pytest.mark.parametrize(("target", "expected"), [
    (None, "/demo/suppliers/saml/"),
    (f"{BASE}/demo/suppliers/saml/resource/livres/42?page=3", "/demo/suppliers/saml/resource/livres/42?page=3"),
    ("/demo/suppliers/saml/resource/x", "/demo/suppliers/saml/resource/x"),
    ("https://attacker.example/demo/suppliers/saml/", "/demo/suppliers/saml/"),
    ("//attacker.example/demo/suppliers/saml/", "/demo/suppliers/saml/"),
    (f"{BASE}/demo/suppliers/cas/", "/demo/suppliers/saml/"),
    (f"{BASE}/staff/", "/demo/suppliers/saml/"),
    ("/demo/suppliers/saml//attacker.example", "/demo/suppliers/saml/"),
    ("/demo/suppliers/saml/../../staff/", "/demo/suppliers/saml/"),
    ("/demo/suppliers/saml/\\attacker", "/demo/suppliers/saml/"),
    ("/demo/suppliers/saml/x\r\nSet-Cookie: a=b", "/demo/suppliers/saml/"),
])
def test_targets_stay_on_the_demo_supplier(target, expected):
    assert local_target(KINDS["saml"], BASE, target) == expected


def test_broker_demo_registers_them_and_follows_a_new_base_url(broker_cli, monkeypatch):
    monkeypatch.setenv("BROKER_DEMO", "true")
    monkeypatch.setenv("BROKER_BASE_URL", BASE)
    first = broker_cli("demo", "--sip2-port", "1", "--json")
    assert first.exit_code == 0, first.output
    assert [(d["slug"], d["status"]) for d in first.json()["demo_suppliers"]] == [
        ("demo-saml", "added"), ("demo-oidc", "added"), ("demo-cas", "added")]
    monkeypatch.setenv("BROKER_BASE_URL", OTHER)
    second = broker_cli("demo", "--sip2-port", "1", "--json")
    assert second.exit_code == 0, second.output
    assert second.json()["loaded"] is False
    assert {d["status"] for d in second.json()["demo_suppliers"]} == {"updated"}
    monkeypatch.setenv("BROKER_DEMO", "false")
    skipped = broker_cli("demo", "--sip2-port", "1", "--json")
    assert skipped.exit_code == 0 and skipped.json()["demo_suppliers"].startswith("skipped")


def _one_access(app) -> None:
    from broker.demo import SIP2_LOGIN  # noqa: F401  (the demo module is importable without the extra)
    from broker.services import access, libraries, patrons, suppliers

    runtime = app.extensions["broker"]
    with runtime.db.session() as s:
        patron = patrons.find(runtime, s, libraries.get_library(s, "FR-147626101"), "V0001")
        outcome = access.check(runtime, s, patron.uid, suppliers.get_supplier(s, "demo-cas"))
    assert outcome.granted
    access.record_usage(runtime, outcome, "cas")


def _current_month_accesses(app) -> int | None:
    from broker.db.stats_models import StatsSupplierMonth
    from broker.services.stats import Month

    runtime = app.extensions["broker"]
    with runtime.db.session() as s:
        return s.scalar(select(func.sum(StatsSupplierMonth.accesses))
                        .where(StatsSupplierMonth.month == str(Month.current())))


@pytest.mark.parametrize("demo", [True, False])
def test_statistics_pages_aggregate_on_demand_in_demo_mode_only(make_demo_app, demo):
    from fixtures import stats as statskit

    app = make_demo_app(demo=demo)
    _register(app)
    _one_access(app)
    client = statskit.as_staff(app, app.test_client(), statskit.ADMIN)
    assert client.get("/staff/stats/").status_code == 200
    assert _current_month_accesses(app) == (1 if demo else None)


def test_the_statistics_api_aggregates_on_demand_in_demo_mode(make_demo_app):
    from fixtures import stats as statskit

    app = make_demo_app(demo=True)
    _register(app)
    _one_access(app)
    headers = {"Authorization": f"Bearer {statskit.token_for(app, statskit.ADMIN)}"}
    assert app.test_client().get("/api/v1/stats/months", headers=headers).status_code == 200
    assert _current_month_accesses(app) == 1


HOSTILE = ["", "ticket=%FF%FE", "ticket=ST-" + "0" * 300, "state=%00&code=%FF", "error=%E2%80%AE&state=x",
           "next=//evil.example/&lang=zz", "next=" + "A" * 3000, "RelayState=%0D%0ASet-Cookie:x=1"]


def test_hostile_requests_get_no_server_error(make_demo_app):
    """Every demo supplier route, with Sésame unreachable on the back channel: 4xx or 503, never a 500."""
    from fixtures.servers import free_port

    app = make_demo_app(base_url=f"http://127.0.0.1:{free_port()}")  # nothing listens there
    _register(app)
    client = app.test_client()
    client.set_cookie("demo_supplier_saml", "x" * 30, path="/demo/suppliers/saml/")
    failures = []
    paths = ["/demo/suppliers/saml/", "/demo/suppliers/oidc/", "/demo/suppliers/cas/", "/demo/suppliers/cas/x",
             "/demo/suppliers/saml/resource/%FF%00", "/demo/suppliers/oidc/resource/" + "x" * 300,
             "/demo/suppliers/saml/login", "/demo/suppliers/cas/login", "/demo/suppliers/oidc/callback",
             "/demo/suppliers/saml/metadata"]
    for path in paths:
        for query in HOSTILE:
            status = client.get(path, query_string=query).status_code
            if status >= 500 and status != 503:
                failures.append((path, query[:20], status))
    for body in ({"SAMLResponse": "%%%"}, {"SAMLResponse": "PHg+PC94Pg==", "RelayState": "\u202e"},
                 b"\xff\xfe\x00"):
        status = client.post("/demo/suppliers/saml/acs", data=body).status_code
        if status >= 500:
            failures.append(("acs", str(body)[:20], status))
    assert not failures, failures


def test_the_registered_sp_metadata_never_expires_and_is_stable():
    from broker.demo_suppliers.saml_sp import sp_metadata

    first = sp_metadata(BASE)
    root = etree.fromstring(first)
    assert root.get("validUntil") is None and root.get("cacheDuration") is None
    assert sp_metadata(BASE) == first


def test_without_the_demo_extra_nothing_is_served_nor_registered(make_demo_app, monkeypatch):
    import sys

    import broker.demo_suppliers as package
    from broker.demo import register_demo_suppliers

    for module in ("views", "cas_client", "saml_sp", "oidc_rp"):  # imported again, they import python-cas again
        monkeypatch.delitem(sys.modules, f"broker.demo_suppliers.{module}", raising=False)
        monkeypatch.delattr(package, module, raising=False)
    monkeypatch.setitem(sys.modules, "cas", None)  # python-cas missing: importing it raises ImportError
    logged = []
    # (a logging config loaded earlier in the run may have disabled the logger: record the call itself)
    monkeypatch.setattr(package.log, "info", lambda message, *args: logged.append(message % args))
    app = make_demo_app()
    assert logged == ["demo suppliers not served: the demo extra is not installed (cas)"]
    client = app.test_client()
    assert client.get("/demo/suppliers/saml/metadata").status_code == 404
    runtime = app.extensions["broker"]
    with runtime.db.session() as s:
        assert register_demo_suppliers(runtime, s) == "skipped: the demo extra is not installed (cas)"
    assert set(_rows(app)[0]) == set()
