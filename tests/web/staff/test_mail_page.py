"""E-mails given up after their attempts: shown to their network's admins, who send them again or delete them."""

from __future__ import annotations

from sqlalchemy import select

from broker.clock import utcnow
from broker.db.mail_models import OutboxMessage
from broker.db.models import AuditEvent, Network
from fixtures.staff import ADMIN, CAEN_ADMIN, VIRE, as_staff, post

ADDRESS = "zoe.failed@example.org"


def _failed(app, network: str, subject: str) -> int:
    runtime = app.extensions["broker"]
    with runtime.db.session() as s:
        net = s.scalar(select(Network).where(Network.slug == network))
        row = OutboxMessage(state="failed", recipient=ADDRESS, subject=subject, body="Bonjour", attempts=24,
                            message_id="<failed.1@localhost>", network_id=net.id, next_attempt_at=utcnow(),
                            failed_at=utcnow(), last_error="cannot connect: Connection refused")
        s.add(row)
        s.flush()
        return row.id


def _row(app, message_id: int) -> OutboxMessage | None:
    with app.extensions["broker"].db.session() as s:
        return s.get(OutboxMessage, message_id)


def test_the_network_admins_see_failed_e_mails_on_their_dashboard(staff_app):
    _failed(staff_app, "calvados", "Votre inscription est validée / Your registration is approved")
    admin = staff_app.test_client()
    as_staff(staff_app, admin, ADMIN)
    dashboard = admin.get("/staff/").get_data(as_text=True)
    assert "1 e-mail n'a pas pu être envoyé" in dashboard
    assert "Votre inscription est validée / Your registration is approved" in dashboard
    assert 'href="/staff/mail"' in dashboard
    page = admin.get("/staff/mail").get_data(as_text=True)
    assert "Connection refused" in page and "Renvoyer" in page
    assert ADDRESS not in page and ADDRESS not in dashboard
    english = admin.get("/staff/?lang=en").get_data(as_text=True)
    assert "1 e-mail could not be sent" in english

    other = staff_app.test_client()  # another network's admin
    as_staff(staff_app, other, CAEN_ADMIN)
    assert "pas pu être envoyé" not in other.get("/staff/").get_data(as_text=True)
    assert "Aucun e-mail en échec." in other.get("/staff/mail").get_data(as_text=True)

    referent = staff_app.test_client()
    as_staff(staff_app, referent, VIRE)
    assert "pas pu être envoyé" not in referent.get("/staff/").get_data(as_text=True)
    assert referent.get("/staff/mail").status_code == 403


def test_an_admin_sends_a_failed_e_mail_again(staff_app):
    message_id = _failed(staff_app, "calvados", "Sujet en échec")
    other = staff_app.test_client()
    as_staff(staff_app, other, CAEN_ADMIN)
    assert post(other, f"/staff/mail/{message_id}/retry", page="/staff/mail").status_code == 404
    referent = staff_app.test_client()
    as_staff(staff_app, referent, VIRE)
    assert post(referent, f"/staff/mail/{message_id}/retry").status_code == 403

    admin = staff_app.test_client()
    as_staff(staff_app, admin, ADMIN)
    r = post(admin, f"/staff/mail/{message_id}/retry", page="/staff/mail")
    assert r.status_code == 303 and r.headers["Location"].endswith("/staff/mail")
    # sent at once (mail_send_at_once), to the address kept for this purpose, which then goes
    assert [m["Subject"] for m in staff_app.smtp.messages if m["To"] == ADDRESS] == ["Sujet en échec"]
    row = _row(staff_app, message_id)
    assert row.state == "sent" and row.recipient == "" and row.body == ""
    assert "remis dans la file" in admin.get("/staff/mail").get_data(as_text=True)
    assert post(admin, f"/staff/mail/{message_id}/retry", page="/staff/mail").status_code == 404  # not failed now
    assert post(admin, "/staff/mail/99999999/retry", page="/staff/mail").status_code == 404
    with staff_app.extensions["broker"].db.session() as s:
        actions = list(s.scalars(select(AuditEvent.action).where(AuditEvent.actor == ADMIN[0])))
    assert "mail.retry" in actions


def test_an_admin_deletes_a_failed_e_mail(staff_app):
    message_id = _failed(staff_app, "calvados", "Sujet à supprimer")
    admin = staff_app.test_client()
    as_staff(staff_app, admin, ADMIN)
    r = post(admin, f"/staff/mail/{message_id}/discard", page="/staff/mail")
    assert r.status_code == 303
    assert _row(staff_app, message_id) is None
    assert staff_app.smtp.messages == []
    page = admin.get("/staff/mail").get_data(as_text=True)
    assert "supprimé sans être envoyé" in page and "Aucun e-mail en échec." in page
    assert admin.post(f"/staff/mail/{message_id}/discard").status_code == 400  # no CSRF token


def test_a_decision_e_mail_is_tied_to_the_library_s_network_and_keeps_no_address_once_sent(staff_app):
    from fixtures.staff import VIRE_LIB, membership_id

    mid = membership_id(staff_app, VIRE_LIB, "V0002")
    referent = staff_app.test_client()
    as_staff(staff_app, referent, VIRE)
    assert post(referent, f"/staff/memberships/{mid}/validate").status_code == 303
    assert any(m["To"] == "thomas.garnier@example.org" for m in staff_app.smtp.messages)
    with staff_app.extensions["broker"].db.session() as s:
        calvados = s.scalar(select(Network.id).where(Network.slug == "calvados"))
        rows = list(s.scalars(select(OutboxMessage)))
    assert [(r.state, r.network_id, r.recipient, r.body) for r in rows] == [("sent", calvados, "", "")]
