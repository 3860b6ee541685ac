"""Scoping: a referent sees and acts only on their libraries, an admin on their network; attempts are audited."""

from __future__ import annotations

import pytest

from fixtures.staff import (
    ADMIN,
    BAYEUX,
    CAEN_ADMIN,
    IFS,
    REFERENT,
    VIRE,
    VIRE_LIB,
    as_staff,
    audit_rows,
    membership_id,
    post,
    state_of,
)


@pytest.mark.parametrize("action,data", [("validate", {}), ("refuse", {"reason": "hors périmètre"}),
                                         ("suspend", {"reason": "hors périmètre"}), ("reactivate", {})])
def test_referent_acting_on_another_library_is_forbidden_and_audited(staff_app, staff_client, action, data):
    pending = membership_id(staff_app, BAYEUX, "29001000000025")
    active = membership_id(staff_app, BAYEUX, "29001000000017")
    suspended = membership_id(staff_app, BAYEUX, "29001000000041")
    target = {"validate": pending, "refuse": pending, "suspend": active, "reactivate": suspended}[action]
    before = state_of(staff_app, target)
    as_staff(staff_app, staff_client, VIRE)
    r = post(staff_client, f"/staff/memberships/{target}/{action}", data)
    assert r.status_code == 403
    assert "hors de votre périmètre" in r.get_data(as_text=True)
    assert state_of(staff_app, target) == before
    denied = audit_rows(staff_app, outcome="denied", actor=VIRE[0])
    assert denied and denied[-1][2].startswith(f"{BAYEUX}/") and denied[-1][4]["membership"] == target


def test_referent_cannot_open_other_libraries_pages(staff_app, staff_client):
    as_staff(staff_app, staff_client, VIRE)
    mid = membership_id(staff_app, BAYEUX, "29001000000017")
    for path in (f"/staff/libraries/{BAYEUX}/", f"/staff/libraries/{BAYEUX}/queue",
                 f"/staff/libraries/{BAYEUX}/members.csv", f"/staff/memberships/{mid}"):
        assert staff_client.get(path).status_code == 403, path
    assert len(audit_rows(staff_app, outcome="denied", actor=VIRE[0])) == 4
    assert staff_client.get("/staff/audit").status_code == 403  # admins only


def test_admin_acts_across_their_network_but_not_another(staff_app):
    client = staff_app.test_client()
    as_staff(staff_app, client, ADMIN)
    page = client.get("/staff/").get_data(as_text=True)
    assert "Médiathèque de Vire" in page and "Médiathèque Les 7 Lieux" in page
    assert "Bibliothèque d'Ifs" not in page  # Caen la mer
    mid = membership_id(staff_app, BAYEUX, "29001000000025")
    assert post(client, f"/staff/memberships/{mid}/validate").status_code == 303
    assert state_of(staff_app, mid) == "active"
    assert client.get(f"/staff/libraries/{IFS}/").status_code == 403

    other = staff_app.test_client()
    as_staff(staff_app, other, CAEN_ADMIN)
    assert other.get(f"/staff/libraries/{IFS}/").status_code == 200
    assert other.get(f"/staff/libraries/{VIRE_LIB}/queue").status_code == 403


def test_referent_dashboard_lists_only_their_library(staff_app, staff_client):
    as_staff(staff_app, staff_client, REFERENT)
    page = staff_client.get("/staff/").get_data(as_text=True)
    assert "Médiathèque Les 7 Lieux" in page and "Médiathèque de Vire" not in page
    assert "Journal d'audit" not in page  # no admin link for a referent
