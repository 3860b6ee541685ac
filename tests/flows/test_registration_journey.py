"""The whole journey with the real pages: a patron registers with a SIP2 card, the referent validates,
the patron logs in, sees an active account and reaches a supplier."""

import re

from sqlalchemy import select

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
BAYEUX = "FR-140476101"
CARD = "29001000000090"  # Emma Roux in the SIP2 emulator's patron file, not registered yet


def csrf(client, path):
    page = client.get(path)
    return _TOKEN.search(page.get_data(as_text=True)).group(1)


def test_register_validate_login_account(demo_app):
    runtime = demo_app.extensions["broker"]
    patron = demo_app.test_client()

    # a wrong SIGB password leaves no trace
    r = patron.post("/register", data={"csrf_token": csrf(patron, "/register"), "library": BAYEUX, "card": CARD,
                                       "password": "0000", "email": "emma@example.org", "consent": "yes"})
    assert r.status_code == 400
    assert "incorrect" in r.get_data(as_text=True)  # the SIGB refused the PIN: not a form error
    from broker.db.models import Membership, Patron

    with runtime.db.session() as s:
        assert s.scalar(select(Patron).where(Patron.email == "emma@example.org")) is None

    r = patron.post("/register", data={"csrf_token": csrf(patron, "/register"), "library": BAYEUX, "card": CARD,
                                       "password": "1234", "email": "emma@example.org", "consent": "yes"})
    assert r.status_code in (302, 303)
    with runtime.db.session() as s:
        membership = s.scalar(select(Membership).join(Patron).where(Patron.email == "emma@example.org"))
        assert membership.state == "pending"
        membership_id = membership.id
    assert any("emma@example.org" in m["To"] for m in demo_app.smtp.messages)

    # pending: no access yet
    assert patron.get("/go/cafeyn").status_code == 403

    referent = demo_app.test_client()
    r = referent.post("/staff/login", data={"csrf_token": csrf(referent, "/staff/login"),
                                            "email": "referent@bayeux.example.org", "password": "demo-referent-2026"})
    assert r.status_code in (302, 303)
    queue = referent.get(f"/staff/libraries/{BAYEUX}/queue").get_data(as_text=True)
    assert "Emma Roux" in queue  # the SIGB lookup beside the registration
    r = referent.post(f"/staff/memberships/{membership_id}/validate",
                      data={"csrf_token": csrf(referent, f"/staff/libraries/{BAYEUX}/queue"), "reason": "inscrite"})
    assert r.status_code in (302, 303)
    with runtime.db.session() as s:
        assert s.get(Membership, membership_id).state == "active"
    assert sum("emma@example.org" in m["To"] for m in demo_app.smtp.messages) == 2

    fresh = demo_app.test_client()
    r = fresh.post("/login", data={"csrf_token": csrf(fresh, "/login"), "library": BAYEUX, "card": CARD,
                                   "password": "1234"})
    assert r.status_code in (302, 303)
    account = fresh.get("/account").get_data(as_text=True)
    assert "Emma Roux" in account or "emma@example.org" in account
    assert CARD not in account
    go = fresh.get("/go/cafeyn")
    assert go.status_code != 403
