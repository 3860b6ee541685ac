"""The right of access: everything Sésame holds about a patron, for the patron and for staff answering for them."""

from __future__ import annotations

import json

import pytest

from broker.domain.identifiers import event_key
from broker.errors import Forbidden, NotFound
from broker.services import access, patrons, staff, suppliers
from broker.services.libraries import get_library
from broker.services.privacy import export_for_staff, export_for_uid, patron_export
from broker.services.stats.months import Month
from fixtures import stats as statskit
from fixtures.stats import paris

VIRE = "FR-147626101"


def _patron(app, card="V0001"):
    runtime = app.extensions["broker"]
    with runtime.db.session() as s:
        return patrons.find(runtime, s, get_library(s, VIRE), card)


def test_the_export_holds_everything(privacy_app):
    app = privacy_app
    runtime = app.extensions["broker"]
    patron = _patron(app)
    with runtime.db.session() as s:
        for slug in ("cafeyn", "cafeyn", "pnb"):
            outcome = access.check(runtime, s, patron.uid, suppliers.get_supplier(s, slug))
            access.record_usage(runtime, outcome, "saml")
    known = statskit.ids(app)
    statskit.insert_events(app, [{"at": paris(2025, 3, 4), "network_id": known["network"]["calvados"],
                                  "library_id": known["library"][VIRE], "supplier_id": known["supplier"]["pnb"],
                                  "patron_key": event_key(runtime.keys.statistics, patron.uid), "outcome": "age"}])
    with runtime.db.session() as s:
        doc = patron_export(runtime, s, access.load_patron(s, patron.uid))
    json.dumps(doc)  # JSON-ready as it is
    assert doc["patron"]["uid"] == patron.uid and doc["patron"]["card_last_characters"] == "0001"
    assert doc["patron"]["email"] == "sarah.fontaine@example.org"
    assert "V0001" not in json.dumps(doc)  # never the card number itself
    assert doc["library"]["code"] == VIRE and doc["library"]["network"] == "calvados"
    assert doc["membership"]["state"] == "active"
    assert [h["to"] for h in doc["membership"]["history"]] == ["active"]
    assert doc["local_account"]["name"] == "Sarah Fontaine"
    assert doc["local_account"]["birth_date"] == "1987-05-04"
    assert "argon2" in doc["local_account"]["pin"] and "4321" not in json.dumps(doc)
    offered = {s["slug"]: s for s in doc["suppliers"]}
    assert set(offered) >= {"cafeyn", "pnb", "vodeclic"}
    released = offered["cafeyn"]["released_when_access_is_granted"]
    assert released["library"] == [VIRE] and released["pairwise-id"][0].endswith("@calvados.sesame.example.org")
    assert "mail" not in released and "displayName" not in released
    usage = {(u["month"], u["supplier"]): (u["granted"], u["refused"]) for u in doc["usage"]["per_month_and_supplier"]}
    this_month = str(Month.current())
    assert usage[(this_month, "cafeyn")] == (2, 0) and usage[(this_month, "pnb")] == (1, 0)
    assert usage[("2025-03", "pnb")] == (0, 1)
    assert {r["setting"] for r in doc["retention"]} >= {"retention_usage_events_days"}


def test_staff_answer_a_request_and_it_is_audited(privacy_app):
    app = privacy_app
    runtime = app.extensions["broker"]
    with runtime.db.session() as s:
        doc = export_for_staff(runtime, s, VIRE, "v0001", actor="accueil@vire.example.org")
    assert doc["patron"]["display_name"] is None or isinstance(doc["patron"]["display_name"], str)
    assert ("accueil@vire.example.org", "privacy.export", f"{VIRE}/0001", "ok") in statskit.audit_rows(app)
    with runtime.db.session() as s, pytest.raises(NotFound):
        export_for_staff(runtime, s, VIRE, "V9999", actor="cli")
    assert ("cli", "privacy.export", VIRE, "not_found") in statskit.audit_rows(app)
    with runtime.db.session() as s:
        referent = staff.get_user(s, statskit.REFERENT)  # Bayeux only
        with pytest.raises(Forbidden):
            export_for_staff(runtime, s, VIRE, "V0001", actor=referent.email, user=referent)
    assert (statskit.REFERENT, "privacy.export", VIRE, "denied") in statskit.audit_rows(app)


def test_cli_export(privacy_cli, tmp_path):
    out = tmp_path / "patron.json"
    result = privacy_cli("privacy", "export", VIRE, "V0001", "--output", str(out))
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["library"]["code"] == VIRE
    missing = privacy_cli("privacy", "export", VIRE, "NOPE")
    assert missing.exit_code == 2 and "holds nothing" in missing.stderr
    unknown = privacy_cli("privacy", "export", "FR-000", "V0001")
    assert unknown.exit_code == 2 and "unknown library" in unknown.stderr
    record = privacy_cli("privacy", "record")
    assert record.exit_code == 0 and "| Supplier | Protocol |" in record.stdout


def test_the_portal_helper_finds_the_patron_by_uid(privacy_app):
    runtime = privacy_app.extensions["broker"]
    uid = _patron(privacy_app).uid
    with runtime.db.session() as s:
        assert export_for_uid(runtime, s, uid)["patron"]["uid"] == uid
        assert export_for_uid(runtime, s, "no-such-uid") is None
        patrons.erase(access.load_patron(s, uid), runtime.clock.utcnow())
    with runtime.db.session() as s:
        assert export_for_uid(runtime, s, uid) is None
