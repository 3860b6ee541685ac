"""The scoped staff operations on SQLite and PostgreSQL: scope queries, literal searches, audit filters."""

from __future__ import annotations

from datetime import date

import pytest

from broker.domain.memberships import Transition
from broker.domain.patrons import PatronRecord
from broker.errors import Forbidden, NotFound


def _network(runtime, s):
    from broker.services import libraries, network, staff

    for slug in ("net-a", "net-b"):
        network.add_network(runtime, s, slug, slug.upper(), actor="test")
        network.add_partner(runtime, s, f"p-{slug}", name=f"Partner {slug}", kind="commune", population=1000,
                            network=slug, agreement="2020-01-01:2099-12-31", actor="test")
    # an underscore in a code must not act as a LIKE wildcard in the audit filter
    for code, partner in (("FR_A1", "p-net-a"), ("FR-A2", "p-net-a"), ("FRXA1", "p-net-b")):
        libraries.add_library(runtime, s, code, name=f"Library {code}", partner=partner, connector="local",
                              actor="test")
    staff.add_staff(runtime, s, "ref@a.example.org", "referent", "FR_A1", password="referent-pass-123", actor="t")
    staff.add_staff(runtime, s, "admin@a.example.org", "admin", "net-a", password="admin-pass-12345", actor="t")


def _register(runtime, s, code, card, name):
    from broker.services import libraries, memberships

    lib = libraries.get_library(s, code)
    record = PatronRecord(card=card, name=name, birth_date=date(1990, 1, 1), expires=date(2099, 1, 1))
    return memberships.register(runtime, s, lib, card, record, email=None).id


@pytest.mark.postgres
def test_staff_desk_on_each_database(make_app, database_url):
    from broker.services import pending_cards, staff, staff_desk

    app = make_app(database_url=database_url)
    runtime = app.extensions["broker"]
    with app.test_request_context(), runtime.db.session() as s:
        _network(runtime, s)
        a1 = _register(runtime, s, "FR_A1", "C-0001", "Ana 100% Martin")
        a1b = _register(runtime, s, "FR_A1", "C-0002", "Bob_Durand")
        a2 = _register(runtime, s, "FR-A2", "C-0003", "Chloé Martin")
        _register(runtime, s, "FRXA1", "C-0004", "Denis Martin")
        ref = staff.get_user(s, "ref@a.example.org")
        admin = staff.get_user(s, "admin@a.example.org")

        assert [lib.code for lib in staff_desk.libraries_in_scope(s, ref)] == ["FR_A1"]
        assert {lib.code for lib in staff_desk.libraries_in_scope(s, admin)} == {"FR_A1", "FR-A2"}

        assert {m.id for m in staff_desk.search(runtime, s, ref, "martin")} == {a1}
        assert {m.id for m in staff_desk.search(runtime, s, admin, "martin")} == {a1, a2}
        assert {m.id for m in staff_desk.search(runtime, s, ref, "100%")} == {a1}
        assert {m.id for m in staff_desk.search(runtime, s, ref, "b_d")} == {a1b}
        assert staff_desk.search(runtime, s, ref, "b%d") == []
        assert {m.id for m in staff_desk.search(runtime, s, admin, "c 0003")} == {a2}  # typed with a space

        assert pending_cards.card_of(runtime, s, a1) == "C0001"
        staff_desk.decide(runtime, s, ref, a1, Transition.APPROVE)
        assert pending_cards.card_of(runtime, s, a1) is None
        with pytest.raises(Forbidden):
            staff_desk.decide(runtime, s, ref, a2, Transition.APPROVE)
        with pytest.raises(NotFound):
            staff_desk.membership_for(runtime, s, admin, 2**31)
        with pytest.raises(NotFound):
            staff_desk.membership_for(runtime, s, admin, 2**63)
        lib = staff_desk.library_for(runtime, s, admin, "FR_A1")
        rows, total = staff_desk.page_of(s, lib, None, limit=1, offset=1)
        assert total == 2 and len(rows) == 1
        counts = staff_desk.counts_for(s, [lib.id])[lib.id]
        assert counts["active"] == 1 and counts["pending"] == 1

    # a refusal is written once the refused unit of work is rolled back (even after writes, on SQLite too)
    with pytest.raises(Forbidden), app.test_request_context(), staff_desk.audited_denials(runtime), \
            runtime.db.session() as s:
        ref = staff.get_user(s, "ref@a.example.org")
        _register(runtime, s, "FR_A1", "C-0005", "Written Before")
        staff_desk.decide(runtime, s, ref, a2, Transition.APPROVE)

    with runtime.db.session() as s:
        from broker.services import audit

        audit.record(runtime, s, "someone@b.example.org", "membership.approve", "FRXA1/0004")
    with app.test_request_context(), runtime.db.session() as s:
        admin = staff.get_user(s, "admin@a.example.org")
        targets = {e.target for e in staff_desk.audit_page(s, admin, limit=500)}
        assert any(t.startswith("FR_A1/") for t in targets)
        assert "FRXA1/0004" not in targets and "FRXA1" not in targets
        denied = [e for e in staff_desk.audit_page(s, admin) if e.outcome == "denied"]
        assert len(denied) == 1 and denied[0].actor == "ref@a.example.org" and denied[0].target.startswith("FR-A2/")
        assert staff_desk.search(runtime, s, admin, "Written") == []  # the refused unit of work left nothing
        with pytest.raises(Forbidden):
            staff_desk.audit_page(s, staff.get_user(s, "ref@a.example.org"))
