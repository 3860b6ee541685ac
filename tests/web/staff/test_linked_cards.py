"""The staff membership page: other cards as a count; network admins link a checked card (audited)."""

from sqlalchemy import select

from broker.db.models import AuditEvent
from broker.db.person_models import PersonCard
from fixtures.staff import ADMIN, REFERENT, login, login_admin, membership_id, post

BAYEUX, CAMILLE, LEA = "FR-140476101", "29001000000017", "29001000000058"


def linked(app) -> int:
    with app.extensions["broker"].db.session() as s:
        return len(s.scalars(select(PersonCard)).all())


def test_admin_links_after_checking_and_referent_sees_a_count(staff_app, staff_client):
    login_admin(staff_client)
    mid = membership_id(staff_app, BAYEUX, CAMILLE)
    page = f"/staff/memberships/{mid}"
    html = staff_client.get(page).get_data(as_text=True)
    assert "Aucune autre carte n'est liée à celle-ci." in html and 'name="checked"' in html
    # not confirmed: nothing written
    r = post(staff_client, f"{page}/link-card", {"library": BAYEUX, "card": LEA}, page=page)
    assert r.status_code == 303 and linked(staff_app) == 0
    r = post(staff_client, f"{page}/link-card", {"library": BAYEUX, "card": "0000", "checked": "yes"}, page=page)
    assert r.status_code == 303 and linked(staff_app) == 0
    r = post(staff_client, f"{page}/link-card", {"library": BAYEUX, "card": LEA, "checked": "yes"}, page=page)
    assert r.status_code == 303 and linked(staff_app) == 2
    html = staff_client.get(page).get_data(as_text=True)
    assert "Cet usager a lié 1 autre carte" in html
    with staff_app.extensions["broker"].db.session() as s:
        [event] = s.scalars(select(AuditEvent).where(AuditEvent.action == "person.link")).all()
        assert event.actor == ADMIN[0] and event.detail == {"card": f"{BAYEUX}/0058"} and LEA not in str(event.detail)

    referent = staff_app.test_client()
    login(referent, REFERENT)
    html = referent.get(f"/staff/memberships/{membership_id(staff_app, BAYEUX, LEA)}").get_data(as_text=True)
    assert "Cet usager a lié 1 autre carte" in html and 'name="checked"' not in html
    r = post(referent, f"{page}/link-card", {"library": BAYEUX, "card": LEA, "checked": "yes"}, page=page)
    assert r.status_code == 403
