"""Staff accounts for network admins: invitations by single-use link, deactivation, resets, all audited."""

from __future__ import annotations

import re

from fixtures.staff import ADMIN, CAEN_ADMIN, REFERENT, VIRE, VIRE_LIB, as_staff, audit_rows, csrf, login, post

LINK = re.compile(r"(http://\S+/staff/invite/(sinv_[A-Za-z0-9_-]+))")


def _invite_link(app, email: str) -> str:
    body = next(m.get_content() for m in reversed(app.smtp.messages) if m["To"] == email)
    assert "mot de passe" in body
    return LINK.search(body).group(1)


def _path(link: str) -> str:
    return link[link.index("/staff/"):]


def test_admin_invites_a_referent_who_chooses_a_password_once(staff_app):
    client = as_staff(staff_app, staff_app.test_client(), ADMIN)
    r = post(client, "/staff/accounts", {"email": "Nouvelle@Vire.example.org", "name": "Nouvelle référente",
                                         "role": "referent", "scope": f"library:{VIRE_LIB}"}, page="/staff/accounts")
    assert r.status_code == 303
    link = _invite_link(staff_app, "nouvelle@vire.example.org")
    assert "invité (lien valable" in client.get("/staff/accounts").get_data(as_text=True)
    invited = staff_app.test_client()
    r = invited.get(_path(link))
    assert r.headers["Referrer-Policy"] == "no-referrer"
    page = r.get_data(as_text=True)
    assert "nouvelle@vire.example.org" in page and 'autocomplete="new-password"' in page
    token = csrf(invited, _path(link))
    r = invited.post(_path(link), data={"password": "court", "confirm": "court", "csrf_token": token})
    assert r.status_code == 400 and 'id="password-error"' in r.get_data(as_text=True)
    r = invited.post(_path(link), data={"password": "une phrase assez longue", "confirm": "une autre phrase",
                                        "csrf_token": token})
    assert r.status_code == 400 and 'id="confirm-error"' in r.get_data(as_text=True)
    r = invited.post(_path(link), data={"password": "une phrase assez longue", "confirm": "une phrase assez longue",
                                        "csrf_token": token})
    assert r.status_code == 303 and r.headers["Location"].endswith("/staff/login")
    assert invited.get(_path(link)).status_code == 404  # single use
    r = login(staff_app.test_client(), ("nouvelle@vire.example.org", "une phrase assez longue"))
    assert r.status_code == 303 and r.headers["Location"].endswith("/staff/")
    rows = audit_rows(staff_app, target="nouvelle@vire.example.org")
    assert [(e[0], e[1]) for e in rows] == [(ADMIN[0], "staff.invite"), ("nouvelle@vire.example.org",
                                                                         "staff.password.set"),
                                            ("nouvelle@vire.example.org", "staff.login")]
    assert rows[0][4]["role"] == "referent" and rows[0][4]["scope"] == VIRE_LIB
    assert not any("une phrase" in str(e[4]) or "sinv_" in str(e[4]) for e in audit_rows(staff_app))
    assert not any(m for m in staff_app.smtp.messages if "une phrase assez longue" in m.get_content())


def test_bad_invitations_are_shown_beside_the_field(staff_app):
    client = as_staff(staff_app, staff_app.test_client(), ADMIN)
    cases = [({"email": REFERENT[0], "role": "referent", "scope": f"library:{VIRE_LIB}"}, "email-error",
              "Un compte actif existe déjà"),
             ({"email": "pas-une-adresse", "role": "referent", "scope": f"library:{VIRE_LIB}"}, "email-error",
              "Adresse e-mail invalide"),
             ({"email": "x@example.org", "role": "admin", "scope": "network:caen-la-mer"}, "scope-error",
              "que vous administrez"),
             ({"email": "x@example.org", "role": "admin", "scope": f"library:{VIRE_LIB}"}, "scope-error",
              "que vous administrez")]
    for data, error_id, text in cases:
        r = post(client, "/staff/accounts", data, page="/staff/accounts")
        page = r.get_data(as_text=True)
        assert r.status_code == 400 and f'id="{error_id}"' in page and text in page, data
    assert audit_rows(staff_app, action="staff.invite") == []


def test_deactivation_stops_sessions_and_tokens_at_once_and_spares_the_last_admin(staff_app):
    from broker.services import staff

    rt = staff_app.extensions["broker"]
    with rt.db.session() as s:
        token = staff.create_api_token(rt, s, staff.get_user(s, VIRE[0]), "script", actor=VIRE[0])
        vire_id, admin_id = staff.get_user(s, VIRE[0]).id, staff.get_user(s, ADMIN[0]).id
    vire = as_staff(staff_app, staff_app.test_client(), VIRE)
    assert vire.get("/staff/").status_code == 200
    api = staff_app.test_client()
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    admin = as_staff(staff_app, staff_app.test_client(), ADMIN)
    assert post(admin, f"/staff/accounts/{vire_id}/deactivate", page="/staff/accounts").status_code == 303
    assert vire.get("/staff/").status_code == 302  # back to the login page
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    r = post(admin, f"/staff/accounts/{admin_id}/deactivate", page="/staff/accounts", follow_redirects=True)
    assert "dernier administrateur actif" in r.get_data(as_text=True)
    assert post(admin, f"/staff/accounts/{vire_id}/reactivate", page="/staff/accounts").status_code == 303
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401  # stays revoked
    done = audit_rows(staff_app, target=VIRE[0])
    off = next(e for e in done if e[1] == "staff.deactivate")
    assert off[0] == ADMIN[0] and off[4]["before"] == {"active": True} and off[4]["after"] == {"active": False}
    assert off[4]["tokens_revoked"] == 1
    assert any(e[1] == "staff.reactivate" for e in done)


def test_password_and_totp_resets(staff_app):
    from fixtures.staff import login_admin

    admin = staff_app.test_client()
    login_admin(admin)  # the admin's TOTP is now set up
    rt = staff_app.extensions["broker"]
    from broker.services import staff

    with rt.db.session() as s:
        vire_id = staff.get_user(s, VIRE[0]).id
        admin_id = staff.get_user(s, ADMIN[0]).id
    assert post(admin, f"/staff/accounts/{vire_id}/reset-password", page="/staff/accounts").status_code == 303
    assert login(staff_app.test_client(), VIRE).status_code == 401  # the old password stops working
    link = _invite_link(staff_app, VIRE[0])
    assert staff_app.test_client().get(_path(link)).status_code == 200
    assert post(admin, f"/staff/accounts/{admin_id}/reset-totp", page="/staff/accounts").status_code == 303
    r = login(staff_app.test_client(), ADMIN)
    assert r.headers["Location"].endswith("/staff/login/enrol")  # enrols again
    reset = audit_rows(staff_app, action="staff.totp.reset")[-1]
    assert reset[4] == {"before": {"totp": "***"}, "after": {"totp": None}}
    pw = audit_rows(staff_app, action="staff.password.reset")[-1]
    assert pw[2] == VIRE[0] and pw[4]["before"] == {"password": "***"}


def test_referents_and_other_networks_admins_are_refused(staff_app):
    from broker.services import staff

    rt = staff_app.extensions["broker"]
    with rt.db.session() as s:
        vire_id = staff.get_user(s, VIRE[0]).id
    referent = as_staff(staff_app, staff_app.test_client(), REFERENT)
    assert referent.get("/staff/accounts").status_code == 403
    assert post(referent, f"/staff/accounts/{vire_id}/deactivate").status_code == 403
    other = as_staff(staff_app, staff_app.test_client(), CAEN_ADMIN)
    assert VIRE[0] not in other.get("/staff/accounts").get_data(as_text=True)
    assert post(other, f"/staff/accounts/{vire_id}/deactivate", page="/staff/accounts").status_code == 403
    assert post(other, "/staff/accounts", {"email": "y@example.org", "role": "referent",
                                           "scope": f"library:{VIRE_LIB}"}, page="/staff/accounts").status_code == 400
    denied = {(e[0], e[1], e[2]) for e in audit_rows(staff_app, outcome="denied")}
    assert (REFERENT[0], "staff.list", "/staff/accounts") in denied
    assert (CAEN_ADMIN[0], "staff.deactivate", VIRE[0]) in denied


def test_an_admin_who_has_not_yet_chosen_a_password_does_not_count_as_the_networks_admin(staff_app):
    from broker.services import staff, staff_accounts

    rt = staff_app.extensions["broker"]
    with rt.db.session() as s:
        staff_accounts.invite(rt, s, "second.admin@calvados.example.org", "admin", "calvados", actor="test")
        admin_id = staff.get_user(s, ADMIN[0]).id
    admin = as_staff(staff_app, staff_app.test_client(), ADMIN)
    r = post(admin, f"/staff/accounts/{admin_id}/deactivate", page="/staff/accounts", follow_redirects=True)
    assert "dernier administrateur actif" in r.get_data(as_text=True)
    with rt.db.session() as s:
        assert staff.get_user(s, ADMIN[0]).active
