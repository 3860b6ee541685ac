"""The audit log (network admins) and the API tokens page."""

from __future__ import annotations

import re

from fixtures.staff import ADMIN, BAYEUX, CAEN_ADMIN, VIRE, as_staff, membership_id, post


def test_audit_log_shows_who_did_what_in_the_network(staff_app, staff_client):
    as_staff(staff_app, staff_client, VIRE)
    mid = membership_id(staff_app, BAYEUX, "29001000000017")
    post(staff_client, f"/staff/memberships/{mid}/suspend", {"reason": "<b>test</b>"})  # denied: Bayeux
    admin = staff_app.test_client()
    as_staff(staff_app, admin, ADMIN)
    page = admin.get("/staff/audit").get_data(as_text=True)
    assert "Accès suspendu" in page and "refusée (hors périmètre)" in page and VIRE[0] in page
    assert "<b>test</b>" not in page
    assert "<caption" in page
    other = staff_app.test_client()
    as_staff(staff_app, other, CAEN_ADMIN)
    assert "Accès suspendu" not in other.get("/staff/audit").get_data(as_text=True)  # another network
    assert admin.get("/staff/audit?before=abc").status_code == 400
    assert admin.get("/staff/audit?before=1").status_code == 200


def test_tokens_are_shown_once_and_can_be_revoked(staff_app, staff_client):
    as_staff(staff_app, staff_client, VIRE)
    r = post(staff_client, "/staff/tokens", {"name": "script <SIGB>"}, page="/staff/tokens")
    page = r.get_data(as_text=True)
    token = re.search(r'id="new-token" value="(sst_[^"]+)"', page).group(1)
    assert "script &lt;SIGB&gt;" in page
    assert token not in staff_client.get("/staff/tokens").get_data(as_text=True)
    assert staff_client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    listing = staff_client.get("/staff/tokens").get_data(as_text=True)
    token_id = re.search(r'/staff/tokens/(\d+)/revoke', listing).group(1)
    r = post(staff_client, f"/staff/tokens/{token_id}/revoke", page="/staff/tokens")
    assert r.status_code == 303
    assert staff_client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert "révoqué le" in staff_client.get("/staff/tokens").get_data(as_text=True)


def test_token_name_is_checked_and_others_tokens_cannot_be_revoked(staff_app, staff_client):
    as_staff(staff_app, staff_client, VIRE)
    assert post(staff_client, "/staff/tokens", {"name": ""}, page="/staff/tokens").status_code == 400
    assert post(staff_client, "/staff/tokens", {"name": "x" * 101}, page="/staff/tokens").status_code == 400
    admin = staff_app.test_client()
    as_staff(staff_app, admin, ADMIN)
    post(admin, "/staff/tokens", {"name": "admin token"}, page="/staff/tokens")
    token_id = re.search(r'/staff/tokens/(\d+)/revoke', admin.get("/staff/tokens").get_data(as_text=True)).group(1)
    assert post(staff_client, f"/staff/tokens/{token_id}/revoke", page="/staff/tokens").status_code == 403
    assert post(staff_client, "/staff/tokens/999999/revoke", page="/staff/tokens").status_code == 404
