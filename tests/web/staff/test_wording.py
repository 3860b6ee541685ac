"""Staff pages that read right: the audit log in words, "Clôturée", one word for e-mail, names with their article."""

from __future__ import annotations

import re

from sqlalchemy import select

from broker.db.models import AuditEvent, Membership
from fixtures.staff import ADMIN, VIRE, VIRE_LIB, as_staff, membership_id


def test_audit_log_reads_as_sentences(staff_app):
    runtime = staff_app.extensions["broker"]
    with runtime.db.session() as s:
        s.add(AuditEvent(actor=ADMIN[0], action="membership.suspend", target=f"{VIRE_LIB}/0002",
                         detail={"membership": 7, "reason": ""}, outcome="ok"))
        s.add(AuditEvent(actor="cli", action="agreement.add", target="calvados",
                         detail={"start": "2026-01-01", "end": "2028-12-31"}, outcome="ok"))
        s.add(AuditEvent(actor=VIRE[0], action="card.lookup", target=f"{VIRE_LIB}/0002",
                         detail={"sigb": "unavailable"}, outcome="denied"))
    client = staff_app.test_client()
    as_staff(staff_app, client, ADMIN)
    html = client.get("/staff/audit?lang=fr").get_data(as_text=True).replace("&#39;", "'")
    assert "Accès suspendu" in html and "Accord ajouté" in html and "Carte vérifiée dans le SIGB" in html
    assert "<code>" not in html and "membership.suspend" not in html
    assert "motif :" not in html and "reason" not in html  # an empty detail is left out
    assert "inscription n° : 7" in html
    assert "début : 01/01/2026" in html and "fin : 31/12/2028" in html and "2026-01-01" not in html
    assert "ligne de commande" in html
    assert "SIGB : SIGB injoignable pour le moment" in html
    assert "refusée (hors périmètre)" in html
    english = client.get("/staff/audit?lang=en").get_data(as_text=True)
    assert "Access suspended" in english and "start: 01/01/2026" in english and "command line" in english


def test_closed_membership_is_cloturee_and_email_is_one_word(staff_app):
    runtime = staff_app.extensions["broker"]
    mid = membership_id(staff_app, VIRE_LIB, "V0002")
    with runtime.db.session() as s:
        s.get(Membership, mid).state = "closed"
    client = staff_app.test_client()
    as_staff(staff_app, client, ADMIN)
    for path in (f"/staff/memberships/{mid}", f"/staff/libraries/{VIRE_LIB}/", "/staff/"):
        html = client.get(path + "?lang=fr").get_data(as_text=True)
        assert "Clôturée" in html and ">Close<" not in html, path
        assert "ourriel" not in html and "électronique" not in html, path


def test_queue_title_puts_the_article_before_the_library(staff_app):
    with staff_app.extensions["broker"].db.session() as s:
        assert s.scalar(select(Membership).where(Membership.state == "pending")) is not None
    client = staff_app.test_client()
    as_staff(staff_app, client, VIRE)
    html = client.get(f"/staff/libraries/{VIRE_LIB}/queue?lang=fr").get_data(as_text=True)
    assert "1 inscription en attente à la Médiathèque de Vire" in html
    english = client.get(f"/staff/libraries/{VIRE_LIB}/queue?lang=en").get_data(as_text=True)
    assert "1 pending registration at Médiathèque de Vire" in english


def test_titles_name_sesame_once(staff_app):
    client = staff_app.test_client()
    for path in ("/", "/login", "/terms", "/refusal/membership_suspended", "/staff/login", "/nowhere"):
        title = re.search(r"<title>(.*?)</title>", client.get(path).get_data(as_text=True), re.S).group(1)
        assert title.count("Sésame") == 1 and title.endswith(" – Sésame"), (path, title)


def test_totp_buttons_say_what_they_do(staff_app):
    client = staff_app.test_client()
    as_staff(staff_app, client, VIRE)
    enrol = client.get("/staff/security?enrol=1&lang=en").get_data(as_text=True)
    assert ">Turn on two-factor authentication</button>" in enrol
    assert ">Approve</button>" not in enrol
