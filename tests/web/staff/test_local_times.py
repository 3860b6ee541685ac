"""Staff pages show every moment in the network's time zone, the column saying which."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from broker.db.models import AuditEvent, Membership, MembershipEvent
from fixtures.staff import ADMIN, VIRE_LIB, as_staff, membership_id

UTC = UTC


def test_history_and_audit_log_in_paris_time(staff_app):
    runtime = staff_app.extensions["broker"]
    mid = membership_id(staff_app, VIRE_LIB, "V0002")
    with runtime.db.session() as s:
        event = s.scalar(select(MembershipEvent).where(MembershipEvent.membership_id == mid))
        event.at = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # the second 02:30 of that night in Paris
        s.get(Membership, mid).created_at = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)  # 1 January in Paris
        s.add(AuditEvent(at=datetime(2026, 7, 14, 8, 0, 5, tzinfo=UTC), actor=ADMIN[0], action="members.export",
                         target=VIRE_LIB, detail={"count": 3}))
    client = staff_app.test_client()
    as_staff(staff_app, client, ADMIN)
    page = client.get(f"/staff/memberships/{mid}").get_data(as_text=True)
    assert "Date (heure de Paris)" in page and "(UTC)" not in page
    assert "25/10/2026 02:30 UTC+1" in page
    assert "01/01/2027" in page
    english = client.get(f"/staff/memberships/{mid}?lang=en").get_data(as_text=True)
    assert "Date (Paris time)" in english and "25/10/2026 02:30 UTC+1" in english
    audit = client.get("/staff/audit?lang=fr").get_data(as_text=True)
    assert "14/07/2026 10:00:05" in audit and "Date (heure de Paris)" in audit


def test_another_network_zone(make_app, staff_template, tmp_path):
    from fixtures.staff import app_from_template

    app = app_from_template(make_app, staff_template, tmp_path, timezone="America/Guadeloupe")
    runtime = app.extensions["broker"]
    mid = membership_id(app, VIRE_LIB, "V0002")
    with runtime.db.session() as s:
        s.scalar(select(MembershipEvent).where(MembershipEvent.membership_id == mid)).at = \
            datetime(2026, 1, 15, 13, 5, tzinfo=UTC)
    client = app.test_client()
    as_staff(app, client, ADMIN)
    page = client.get(f"/staff/memberships/{mid}").get_data(as_text=True)
    assert "15/01/2026 09:05" in page and "Date (heure de Guadeloupe)" in page
