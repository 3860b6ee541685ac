"""docs/privacy.md: its generated tables come from the code's facts and are up to date."""

from __future__ import annotations

from broker.config import Settings
from broker.services import suppliers
from broker.services.privacy_record import (
    DOC,
    instance_document,
    release_table,
    repository_document,
    retention_table,
)
from broker.services.suppliers import RELEASABLE


def test_the_generated_sections_of_docs_privacy_md_are_up_to_date():
    current = DOC.read_text(encoding="utf-8")
    for block in ("release", "retention"):
        assert f"<!-- generated:{block} -->" in current and f"<!-- /generated:{block} -->" in current, block
    assert current == repository_document(), (
        "docs/privacy.md is out of date: run .venv/bin/python -m broker.services.privacy_record docs/privacy.md")


def test_every_setting_named_in_the_retention_table_exists():
    names = {f.name for f in Settings.keys()}
    for row in retention_table(Settings(secret_key="x" * 40)):
        for setting in row.setting.split(", "):
            assert setting == "—" or setting in names, setting
    assert {"retention_usage_events_days", "retention_refused_registrations_days",
            "retention_inactive_membership_days"} <= {r.setting for r in retention_table(Settings(secret_key="x" * 40))}


def test_the_instance_record_uses_its_own_settings_and_suppliers(make_app):
    from fixtures import stats as statskit

    app = make_app(retention_usage_events_days=180, retention_refused_registrations_days=30)
    statskit.load_demo_into(app)
    runtime = app.extensions["broker"]
    with runtime.db.session() as s:
        cafeyn = suppliers.get_supplier(s, "cafeyn")
        cafeyn.release = ["library", "email"]
        s.flush()
        text = instance_document(runtime, s)
        rows = {r.supplier: r for r in release_table(suppliers.list_suppliers(s))}
    assert "180 days (about 6 months)" in text and "30 days, then closed and erased" in text
    assert rows["Cafeyn (`cafeyn`)"].release == ("library", "email")
    line = next(row for row in text.splitlines() if row.startswith("| Cafeyn"))
    cells = [c.strip() for c in line.strip("|").split("|")]
    marks = dict(zip(RELEASABLE, cells[3:]))
    assert marks == {"library": "yes", "network": "—", "birth_year": "—", "age_bracket": "—", "display_name": "—",
                     "email": "yes"}
