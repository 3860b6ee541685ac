"""The pending queue: SIGB lookups beside each registration, validate, refuse, bulk validate."""

from __future__ import annotations

import html

from sqlalchemy import select

from broker.db.staff_models import PendingCard
from fixtures.staff import (
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


def _pending_cards(app) -> set[int]:
    runtime = app.extensions["broker"]
    with runtime.db.session() as s:
        return set(s.scalars(select(PendingCard.membership_id)))


def test_queue_shows_what_the_sigb_knows_from_the_kept_card(staff_app, staff_client):
    mid = membership_id(staff_app, VIRE_LIB, "V0002")
    assert mid in _pending_cards(staff_app)
    runtime = staff_app.extensions["broker"]
    with runtime.db.session() as s:
        stored = s.get(PendingCard, mid).card_encrypted
    assert b"V0002" not in stored  # encrypted at rest
    as_staff(staff_app, staff_client, VIRE)
    # the page comes at once, the SIGB not asked yet: a link checks the card, queue.js asks for each
    page = staff_client.get(f"/staff/libraries/{VIRE_LIB}/queue").get_data(as_text=True)
    assert "Carte valide" not in page and "Pas encore vérifiée dans le SIGB." in page
    assert f'data-sigb-url="/staff/libraries/{VIRE_LIB}/queue/{mid}/sigb"' in page
    assert f'href="/staff/libraries/{VIRE_LIB}/queue?page=1&amp;check={mid}#m{mid}"' in page
    assert 'id="sigb-progress"' in page and 'aria-live="polite"' in page
    assert '<script src="/static/queue.js" defer></script>' in page
    assert 'id="select-' in page and "Inclure dans la validation groupée" in page
    # without a script: the card's link, or the whole page's
    for check in (str(mid), "all"):
        page = staff_client.get(f"/staff/libraries/{VIRE_LIB}/queue?check={check}").get_data(as_text=True)
        assert "Carte valide" in page
        assert "Thomas Garnier" in page and "né(e) en 1993" in page
        assert "V0002" not in page  # only the hint is shown
        assert f'data-sigb-url="/staff/libraries/{VIRE_LIB}/queue/{mid}/sigb"' not in page
    # with the script: the card's column as JSON
    r = staff_client.get(f"/staff/libraries/{VIRE_LIB}/queue/{mid}/sigb")
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    answer = r.get_json()
    assert answer["status"] == "found"
    assert "Carte valide" in answer["html"] and "Thomas Garnier" in answer["html"] and "né(e) en 1993" in answer["html"]
    assert "V0002" not in answer["html"]


def test_sigb_check_of_a_card_outside_the_queue_or_the_scope_is_refused(staff_app, staff_client):
    mid = membership_id(staff_app, VIRE_LIB, "V0002")
    as_staff(staff_app, staff_client, REFERENT)  # Bayeux's referent
    assert staff_client.get(f"/staff/libraries/{VIRE_LIB}/queue/{mid}/sigb").status_code in (403, 404)
    as_staff(staff_app, staff_client, VIRE)
    assert staff_client.get(f"/staff/libraries/{BAYEUX}/queue/{mid}/sigb").status_code in (403, 404)
    active = membership_id(staff_app, VIRE_LIB, "V0001")
    r = staff_client.get(f"/staff/libraries/{VIRE_LIB}/queue/{active}/sigb")
    assert r.status_code == 404
    assert staff_client.get(f"/staff/libraries/{VIRE_LIB}/queue/x/sigb").status_code == 404


def test_imported_registration_is_looked_up_with_a_typed_card_over_sip2(staff_app, staff_client):
    mid = membership_id(staff_app, BAYEUX, "29001000000025")
    as_staff(staff_app, staff_client, REFERENT)
    page = staff_client.get(f"/staff/libraries/{BAYEUX}/queue?check=all").get_data(as_text=True)
    assert "Numéro de carte non conservé" in page
    assert 'name="card"' in page
    answer = staff_client.get(f"/staff/libraries/{BAYEUX}/queue/{mid}/sigb").get_json()
    assert answer["status"] == "no_card" and 'name="card"' in answer["html"]
    r = post(staff_client, f"/staff/libraries/{BAYEUX}/queue/lookup", {"membership": mid, "card": "29001000000025"})
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert "Lucas Bernard" in page and "né(e) en 1995" in page and "Carte valide" in page
    r = post(staff_client, f"/staff/libraries/{BAYEUX}/queue/lookup", {"membership": mid, "card": "29001000000017"})
    assert "Ce numéro ne correspond pas à cette inscription" in r.get_data(as_text=True)


def test_validate_tells_the_patron_and_forgets_the_card(staff_app, staff_client):
    mid = membership_id(staff_app, VIRE_LIB, "V0002")
    as_staff(staff_app, staff_client, VIRE)
    r = post(staff_client, f"/staff/memberships/{mid}/validate", {"back": f"/staff/libraries/{VIRE_LIB}/queue"})
    assert r.status_code == 303 and r.headers["Location"] == f"/staff/libraries/{VIRE_LIB}/queue"
    assert "Inscription validée" in staff_client.get(r.headers["Location"]).get_data(as_text=True)
    assert state_of(staff_app, mid) == "active"
    assert mid not in _pending_cards(staff_app)
    mail = [m for m in staff_app.smtp.messages if m["To"] == "thomas.garnier@example.org"]
    assert any("validée" in m["Subject"] for m in mail)
    rows = audit_rows(staff_app, action="membership.approve")
    assert rows and rows[-1][0] == VIRE[0] and rows[-1][3] == "ok"
    history = staff_client.get(f"/staff/memberships/{mid}").get_data(as_text=True)
    assert VIRE[0] in history and "Validation" in history


def test_refuse_needs_a_reason_which_is_escaped_and_mailed(staff_app, staff_client):
    mid = add_pending(staff_app, "V9001", "Zoé Test", "zoe@example.org")
    as_staff(staff_app, staff_client, VIRE)
    r = post(staff_client, f"/staff/memberships/{mid}/refuse", {"reason": "  "})
    assert r.status_code == 400  # the page again, the reason field named in its error summary
    page = r.get_data(as_text=True)
    assert '<li><a href="#reason-refuse">Indiquez un motif.</a></li>' in page
    assert 'aria-invalid="true" aria-describedby="reason-refuse-error"' in page
    assert state_of(staff_app, mid) == "pending"
    # from the queue, the queue again, with that registration's field in error
    r = post(staff_client, f"/staff/memberships/{mid}/refuse",
             {"reason": "", "back": f"/staff/libraries/{VIRE_LIB}/queue"})
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    assert f'<li><a href="#reason-{mid}">Indiquez un motif.</a></li>' in page
    assert f'reason-error-{mid}"' in page and "Inscriptions en attente" in page
    assert state_of(staff_app, mid) == "pending"
    reason = '<script>alert("x")</script> pas inscrite ici'
    assert mid in _pending_cards(staff_app)
    r = post(staff_client, f"/staff/memberships/{mid}/refuse", {"reason": reason})
    assert state_of(staff_app, mid) == "refused"
    assert mid not in _pending_cards(staff_app)  # erased with the decision
    page = staff_client.get(f"/staff/memberships/{mid}").get_data(as_text=True)
    assert "<script>alert" not in page
    assert html.escape(reason, quote=False).split(" pas")[0] in page or "&lt;script&gt;" in page
    mail = [m for m in staff_app.smtp.messages if m["To"] == "zoe@example.org" and "pas été validée" in m["Subject"]]
    assert mail and "pas inscrite ici" in mail[0].get_content()
    assert mail[0].get_content_type() == "text/plain"  # no HTML to inject into


def test_too_long_reason_is_refused_clearly(staff_app, staff_client):
    mid = add_pending(staff_app, "V9002", "Long Reason")
    as_staff(staff_app, staff_client, VIRE)
    r = post(staff_client, f"/staff/memberships/{mid}/refuse", {"reason": "x" * 501})
    assert r.status_code == 400
    assert '<a href="#reason-refuse">Le motif ne doit pas dépasser 500 caractères.</a>' in r.get_data(as_text=True)
    assert state_of(staff_app, mid) == "pending"


def test_deciding_twice_is_a_clear_message_not_an_error(staff_app, staff_client):
    mid = add_pending(staff_app, "V9003", "Twice")
    as_staff(staff_app, staff_client, VIRE)
    post(staff_client, f"/staff/memberships/{mid}/validate")
    r = post(staff_client, f"/staff/memberships/{mid}/validate")
    assert r.status_code == 303
    page = staff_client.get(r.headers["Location"]).get_data(as_text=True).replace("&#39;", "'")
    assert "Impossible : cette inscription est dans l'état « Active »." in page  # the state's name, not "active"


def test_bulk_validate(staff_app, staff_client):
    ids = [add_pending(staff_app, f"V910{i}", f"Bulk {i}", f"bulk{i}@example.org") for i in range(3)]
    as_staff(staff_app, staff_client, VIRE)
    page = staff_client.get(f"/staff/libraries/{VIRE_LIB}/queue").get_data(as_text=True)
    assert 'form="bulk"' in page and "Valider la sélection" in page
    r = post(staff_client, f"/staff/libraries/{VIRE_LIB}/queue/validate", {"ids": [str(i) for i in ids[:2]]})
    assert r.status_code == 303
    assert [state_of(staff_app, i) for i in ids] == ["active", "active", "pending"]
    assert "2 inscriptions validées" in staff_client.get(r.headers["Location"]).get_data(as_text=True)
    r = post(staff_client, f"/staff/libraries/{VIRE_LIB}/queue/validate", {})
    assert "Sélectionnez au moins une inscription." in staff_client.get(r.headers["Location"]).get_data(as_text=True)
    assert post(staff_client, f"/staff/libraries/{VIRE_LIB}/queue/validate", {"ids": "abc"}).status_code == 400


def test_bulk_with_a_registration_of_another_library_changes_nothing(staff_app, staff_client):
    mine = add_pending(staff_app, "V9201", "Mine")
    theirs = membership_id(staff_app, BAYEUX, "29001000000025")
    as_staff(staff_app, staff_client, VIRE)
    r = post(staff_client, f"/staff/libraries/{VIRE_LIB}/queue/validate", {"ids": [str(mine), str(theirs)]})
    assert r.status_code == 403
    assert state_of(staff_app, mine) == "pending" and state_of(staff_app, theirs) == "pending"
    denied = audit_rows(staff_app, outcome="denied")
    assert denied and denied[-1][0] == VIRE[0] and denied[-1][1] == "membership.approve"


def test_post_without_csrf_token_is_refused(staff_app, staff_client):
    mid = add_pending(staff_app, "V9301", "No Csrf")
    as_staff(staff_app, staff_client, VIRE)
    r = staff_client.post(f"/staff/memberships/{mid}/validate", data={})
    assert r.status_code == 400
    assert state_of(staff_app, mid) == "pending"


def test_unknown_action_and_ids_are_404(staff_app, staff_client):
    as_staff(staff_app, staff_client, VIRE)
    assert post(staff_client, "/staff/memberships/999999/validate").status_code == 404
    assert post(staff_client, "/staff/memberships/1/explode").status_code == 404
    assert staff_client.get("/staff/libraries/NOPE-0000/queue").status_code == 404
    assert staff_client.get("/staff/libraries/<script>/queue").status_code == 404
    assert staff_client.get(f"/staff/libraries/{VIRE_LIB}/queue?page=abc").status_code == 400
