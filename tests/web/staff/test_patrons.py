"""A patron's page: search by card or name within scope, membership and history, suspend and reactivate."""

from __future__ import annotations

from fixtures.staff import (
    ADMIN,
    BAYEUX,
    REFERENT,
    VIRE,
    VIRE_LIB,
    add_pending,
    as_staff,
    audit_rows,
    membership_id,
    post,
    state_of,
)


def test_search_by_full_card_number(staff_app, staff_client):
    as_staff(staff_app, staff_client, VIRE)
    r = post(staff_client, "/staff/patrons", {"q": "v0001"}, page="/staff/patrons")  # typed in lower case
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "1 usager trouvé" in page
    assert "…0001" in page and "sarah.fontaine@example.org" in page


def test_search_by_name_or_email_stays_in_scope(staff_app, staff_client):
    add_pending(staff_app, "V7001", "Martin Vire", "martin.vire@example.org")
    as_staff(staff_app, staff_client, VIRE)
    page = post(staff_client, "/staff/patrons", {"q": "martin"}, page="/staff/patrons").get_data(as_text=True)
    assert "Martin Vire" in page
    assert "camille.martin" not in page  # a Bayeux patron: not this referent's library
    page = post(staff_client, "/staff/patrons", {"q": "29001000000017"}, page="/staff/patrons").get_data(as_text=True)
    assert "Aucun usager ne correspond" in page


def test_search_input_is_checked(staff_app, staff_client):
    as_staff(staff_app, staff_client, VIRE)
    r = post(staff_client, "/staff/patrons", {"q": "x" * 300}, page="/staff/patrons")
    assert r.status_code == 400 and "200 caractères" in r.get_data(as_text=True)
    r = post(staff_client, "/staff/patrons", {"q": "%"}, page="/staff/patrons")
    assert r.status_code == 200  # a wildcard is a literal character, not "everyone"
    assert "Aucun usager ne correspond" in r.get_data(as_text=True)
    r = post(staff_client, "/staff/patrons", {"q": "ab", "library": BAYEUX}, page="/staff/patrons")
    assert r.status_code == 403


def test_admin_searches_their_whole_network(staff_app):
    client = staff_app.test_client()
    as_staff(staff_app, client, ADMIN)
    page = post(client, "/staff/patrons", {"q": "example.org"}, page="/staff/patrons").get_data(as_text=True)
    assert "Médiathèque de Vire" in page and "Médiathèque Les 7 Lieux" in page
    assert "louis.bonnet" not in page  # Caen la mer network


def test_suspend_with_reason_then_reactivate(staff_app, staff_client):
    mid = membership_id(staff_app, VIRE_LIB, "V0001")
    as_staff(staff_app, staff_client, VIRE)
    page = staff_client.get(f"/staff/memberships/{mid}").get_data(as_text=True)
    assert "Suspendre l'accès" in page and 'for="reason-suspend"' in page
    r = post(staff_client, f"/staff/memberships/{mid}/suspend", {"reason": ""})
    assert state_of(staff_app, mid) == "active"
    r = post(staff_client, f"/staff/memberships/{mid}/suspend", {"reason": "Carte signalée perdue"})
    assert r.status_code == 303 and r.headers["Location"] == f"/staff/memberships/{mid}"
    assert state_of(staff_app, mid) == "suspended"
    page = staff_client.get(f"/staff/memberships/{mid}").get_data(as_text=True)
    assert "Accès suspendu" in page and "Carte signalée perdue" in page and "Rétablir l'accès" in page
    post(staff_client, f"/staff/memberships/{mid}/reactivate", {"reason": "Carte retrouvée"})
    assert state_of(staff_app, mid) == "active"
    page = staff_client.get(f"/staff/memberships/{mid}").get_data(as_text=True)
    assert "Suspension" in page and "Réactivation" in page and page.count(VIRE[0]) >= 2
    actions = [(a, d.get("reason")) for _, a, _, _, d in audit_rows(staff_app, actor=VIRE[0])]
    assert ("membership.suspend", "Carte signalée perdue") in actions
    assert ("membership.reactivate", "Carte retrouvée") in actions
    subjects = [m["Subject"] for m in staff_app.smtp.messages if m["To"] == "sarah.fontaine@example.org"]
    assert any("suspendu" in s for s in subjects) and any("rétabli" in s for s in subjects)


def test_names_with_html_are_escaped_everywhere(staff_app, staff_client):
    evil = '<img src=x onerror=alert(1)>'
    mid = add_pending(staff_app, "V7002", evil, "evil@example.org")
    as_staff(staff_app, staff_client, VIRE)
    for path in (f"/staff/memberships/{mid}", f"/staff/libraries/{VIRE_LIB}/queue", f"/staff/libraries/{VIRE_LIB}/"):
        page = staff_client.get(path).get_data(as_text=True)
        assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page, path
    page = post(staff_client, "/staff/patrons", {"q": "onerror"}, page="/staff/patrons").get_data(as_text=True)
    assert "<img src=x" not in page and "&lt;img" in page


def test_bayeux_referent_sees_the_imported_states(staff_app):
    client = staff_app.test_client()
    as_staff(staff_app, client, REFERENT)
    page = client.get(f"/staff/libraries/{BAYEUX}/?state=suspended").get_data(as_text=True)
    assert "1 inscrit" in page and "…0041" in page
    assert client.get(f"/staff/libraries/{BAYEUX}/?state=bogus").status_code == 400


def test_search_is_a_bookmarkable_get_with_whole_rows_as_links(staff_app, staff_client):
    add_pending(staff_app, "V7002", "Martin Vire", "martin.vire@example.org")
    as_staff(staff_app, staff_client, VIRE)
    form = staff_client.get("/staff/patrons").get_data(as_text=True)
    assert '<form method="get" action="/staff/patrons" role="search">' in form
    r = staff_client.get("/staff/patrons?q=martin")
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "Martin Vire" in page and 'value="martin"' in page
    assert '<table class="rows-link">' in page and r.headers["Referrer-Policy"] == "no-referrer"
    assert staff_client.get("/staff/patrons?q=").status_code == 400
    assert staff_client.get(f"/staff/patrons?q=martin&library={VIRE_LIB}").status_code == 200
    assert staff_client.get(f"/staff/patrons?q=martin&library={BAYEUX}").status_code == 403  # not theirs
