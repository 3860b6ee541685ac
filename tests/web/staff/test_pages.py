"""Every staff page: renders for its users, accessible markup, English catalogue complete, never a 500."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from fixtures.staff import ADMIN, BAYEUX, VIRE, VIRE_LIB, as_staff, membership_id, post

ROOT = Path(__file__).resolve().parents[3]


def _pages(app):
    mid = membership_id(app, VIRE_LIB, "V0002")
    return ["/staff/", f"/staff/libraries/{VIRE_LIB}/", f"/staff/libraries/{VIRE_LIB}/queue", "/staff/patrons",
            f"/staff/memberships/{mid}", "/staff/tokens", "/staff/security", "/staff/audit", "/staff/security?enrol=1", "/staff/mail"]


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_every_page_renders_with_accessible_structure(staff_app, lang):
    client = staff_app.test_client()
    as_staff(staff_app, client, ADMIN)
    for path in _pages(staff_app):
        sep = "&" if "?" in path else "?"
        r = client.get(f"{path}{sep}lang={lang}")
        assert r.status_code == 200, path
        page = r.get_data(as_text=True)
        assert f'<html lang="{lang}">' in page
        assert page.count("<h1") == 1, path
        assert 'class="skip-link"' in page and 'id="main"' in page
        assert r.headers["Cache-Control"] == "no-store"
        for input_id in re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', page):
            assert f'for="{input_id}"' in page, f"{path}: #{input_id} has no label"
        for table in re.findall(r"<table.*?</table>", page, flags=re.S):
            assert "<caption" in table and 'scope="col"' in table, path


def test_english_catalogue_covers_every_staff_message():
    mapping = [("broker/web/staff/**.py", "python"), ("broker/web/api/**.py", "python"),
               ("broker/services/staff_desk.py", "python"), ("broker/services/staff_auth.py", "python"),
               ("broker/templates/staff/**.html", "jinja2")]
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None, "Translatable": None}
    found = set()
    for _, _, message, *_ in extract_from_dir(str(ROOT), method_map=mapping, keywords=keywords):
        found.add(message[0] if isinstance(message, tuple) else message)
    po = ROOT / "broker/translations_staff/en/LC_MESSAGES/messages.po"
    with po.open("rb") as f:
        catalog = read_po(f)
    translated = {(m.id[0] if isinstance(m.id, tuple) else m.id) for m in catalog if m.id and m.string
                  and all(m.string if isinstance(m.string, tuple) else [m.string])}
    assert len(found) > 150
    assert sorted(found - translated) == []


def test_malformed_requests_never_give_a_500(staff_app):
    client = staff_app.test_client()
    as_staff(staff_app, client, VIRE)
    mid = membership_id(staff_app, VIRE_LIB, "V0002")
    checks = [
        client.get("/staff/libraries/%00/"),
        client.get(f"/staff/libraries/{'A' * 500}/"),
        client.get(f"/staff/libraries/{VIRE_LIB}/?page=0"),
        client.get(f"/staff/libraries/{VIRE_LIB}/?page=99999999999"),
        client.get("/staff/memberships/99999999999999999999"),
        post(client, f"/staff/libraries/{VIRE_LIB}/queue/lookup", {"membership": "x", "card": "1"}),
        post(client, f"/staff/libraries/{VIRE_LIB}/queue/lookup", {"membership": str(mid), "card": "z" * 65}),
        post(client, f"/staff/libraries/{VIRE_LIB}/queue/lookup", {"membership": str(mid), "card": "\x00"}),
        post(client, f"/staff/memberships/{mid}/refuse", {"reason": "a\x00b"}),
        post(client, "/staff/patrons", {"q": "\x01\x02"}, page="/staff/patrons"),
        post(client, "/staff/patrons", {"q": "ab", "library": "../../etc"}, page="/staff/patrons"),
        post(client, "/staff/security", {"action": "enable", "code": "x" * 5000}, page="/staff/security"),
        client.post("/staff/login", data={"email": "x" * 10_000, "password": "y"}),
    ]
    assert [r.status_code for r in checks if r.status_code >= 500] == []
    assert all(r.status_code in (200, 303, 400, 403, 404) for r in checks), [r.status_code for r in checks]


def test_lookup_when_the_sigb_does_not_answer(make_app, staff_template, tmp_path):
    """A dead SIGB is said plainly beside the registration; the page still works."""
    from broker.services import libraries
    from broker.testing.net import free_port
    from fixtures.staff import REFERENT, app_from_template

    app = app_from_template(make_app, staff_template, tmp_path)
    runtime = app.extensions["broker"]
    with runtime.db.session() as s:
        libraries.update_connector(runtime, s, BAYEUX, "sip2", {
            "host": "127.0.0.1", "port": str(free_port()), "login": "sesame", "password": "x",
            "institution": BAYEUX, "timeout": "0.5"}, actor="test")
    client = app.test_client()
    as_staff(app, client, REFERENT)
    mid = membership_id(app, BAYEUX, "29001000000025")
    r = post(client, f"/staff/libraries/{BAYEUX}/queue/lookup", {"membership": str(mid), "card": "29001000000025"})
    assert r.status_code == 200 and "SIGB injoignable" in r.get_data(as_text=True)


def test_queue_survives_a_misconfigured_connector(staff_app):
    """Secrets that no longer decrypt (secret_key changed) make the lookup say so; the queue still works."""
    from sqlalchemy import select

    from broker.db.models import Library

    runtime = staff_app.extensions["broker"]
    with runtime.db.session() as s:
        lib = s.scalar(select(Library).where(Library.code == VIRE_LIB))
        lib.connector_secrets = b"not a fernet token"
    client = staff_app.test_client()
    as_staff(staff_app, client, VIRE)
    r = client.get(f"/staff/libraries/{VIRE_LIB}/queue")
    assert r.status_code == 200  # the page itself asks no SIGB
    r = client.get(f"/staff/libraries/{VIRE_LIB}/queue?check=all")
    assert r.status_code == 200 and "SIGB injoignable" in r.get_data(as_text=True)
    mid = membership_id(staff_app, VIRE_LIB, "V0002")
    r = client.get(f"/staff/libraries/{VIRE_LIB}/queue/{mid}/sigb")
    assert r.status_code == 200 and r.get_json()["status"] == "unavailable"
    assert "SIGB injoignable" in r.get_json()["html"]
