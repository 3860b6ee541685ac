"""The network's queue: every library's pending registrations, oldest first, filterable, with the same actions."""

from __future__ import annotations

from fixtures.staff import (
    ADMIN,
    BAYEUX,
    CAEN_ADMIN,
    REFERENT,
    VIRE_LIB,
    add_pending,
    as_staff,
    audit_rows,
    membership_id,
    post,
    state_of,
)


def test_admin_sees_every_pending_registration_of_the_network_and_decides(staff_app):
    demo = membership_id(staff_app, BAYEUX, "29001000000025")  # pending in the demo network
    first = membership_id(staff_app, VIRE_LIB, "V0002")
    second = add_pending(staff_app, "29001000009999", "Nina Bayeux", library=BAYEUX)
    third = add_pending(staff_app, "V7001", "Paul Vire", email="paul@example.org")
    client = as_staff(staff_app, staff_app.test_client(), ADMIN)
    page = client.get("/staff/pending").get_data(as_text=True)
    assert "4 inscriptions en attente" in page
    assert page.index(f'id="m{demo}"') < page.index(f'id="m{first}"') < page.index(f'id="m{second}"') < page.index(f'id="m{third}"')
    filtered = client.get(f"/staff/pending?library={BAYEUX}").get_data(as_text=True)
    assert f'id="m{second}"' in filtered and f'id="m{first}"' not in filtered
    r = post(client, f"/staff/memberships/{second}/validate", {"back": f"/staff/pending?library={BAYEUX}"},
             page="/staff/pending")
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/staff/pending?library={BAYEUX}")
    assert state_of(staff_app, second) == "active"
    r = post(client, "/staff/pending/validate", {"ids": [str(first), str(third)]}, page="/staff/pending")
    assert r.status_code == 303
    assert state_of(staff_app, first) == state_of(staff_app, third) == "active"
    approved = {e[2] for e in audit_rows(staff_app, actor=ADMIN[0], action="membership.approve")}
    assert approved == {f"{BAYEUX}/9999", f"{VIRE_LIB}/0002", f"{VIRE_LIB}/7001"}
    post(client, f"/staff/memberships/{demo}/refuse", {"reason": "inconnu", "back": "/staff/pending"},
         page="/staff/pending")
    assert "Aucune inscription en attente." in client.get("/staff/pending").get_data(as_text=True)


def test_referents_and_other_networks_cannot_use_the_network_queue(staff_app):
    referent = as_staff(staff_app, staff_app.test_client(), REFERENT)
    assert referent.get("/staff/pending").status_code == 403
    other = as_staff(staff_app, staff_app.test_client(), CAEN_ADMIN)
    assert "V0002" not in other.get("/staff/pending").get_data(as_text=True)
    assert other.get(f"/staff/pending?library={VIRE_LIB}").status_code == 403
    mid = membership_id(staff_app, VIRE_LIB, "V0002")
    assert post(other, "/staff/pending/validate", {"ids": [str(mid)]}, page="/staff/pending").status_code == 403
    assert state_of(staff_app, mid) == "pending"
    denied = {(e[0], e[1]) for e in audit_rows(staff_app, outcome="denied")}
    assert {(REFERENT[0], "queue.view"), (CAEN_ADMIN[0], "queue.view"), (CAEN_ADMIN[0], "membership.approve")} <= denied
