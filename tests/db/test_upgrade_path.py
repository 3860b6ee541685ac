"""An instance created at any released revision upgrades to today's schema and keeps its data."""

import datetime as dt
import hashlib

from sqlalchemy import MetaData, create_engine, select

from broker.db.migrate import MIGRATIONS, current_revision, pending_differences, upgrade
from broker.db.models import Library, Membership, Network, Partner, Patron

#: Released revisions never change once published: an instance created with one must keep upgrading.
#: A new revision is added after the head (``make migration MSG=...``), and its digest recorded here.
RELEASED = {
    "0001_initial_schema.py": "9280c8fa02395a86e88baaf43624a481d381bc43457d452a1a07eef27f761893",
}

NOW = dt.datetime(2026, 1, 15, 9, 30, tzinfo=dt.UTC)


def test_released_revisions_are_never_rewritten():
    versions = MIGRATIONS / "versions"
    for name, digest in RELEASED.items():
        assert hashlib.sha256((versions / name).read_bytes()).hexdigest() == digest, (
            f"{name} was edited: add a new revision instead of changing a released one")


def _rows_at_first_revision(engine):
    meta = MetaData()
    meta.reflect(engine)
    t = meta.tables
    with engine.begin() as conn:
        conn.execute(t["networks"].insert(), [{"id": 1, "slug": "calvados", "name": "La Boîte numérique",
                                                "scope": "", "branding": {}, "contact_email": ""}])
        conn.execute(t["partners"].insert(), [{"id": 1, "slug": "bayeux", "name": "Bayeux", "kind": "commune",
                                                "population": 12967, "network_id": 1}])
        conn.execute(t["agreements"].insert(), [{"id": 1, "partner_id": 1, "start": dt.date(2024, 1, 1),
                                                  "end": dt.date(2027, 12, 31), "rate": 0.15}])
        conn.execute(t["libraries"].insert(), [{
            "id": 1, "code": "FR-140476101", "name": "Médiathèque Les 7 Lieux", "commune": "Bayeux",
            "partner_id": 1, "connector": "local", "connector_settings": {}, "connector_secrets": None,
            "registration": "referent", "card_case": "upper", "contact_email": "", "contact_phone": "",
            "address": "", "website": "", "updated_at": NOW}])
        conn.execute(t["patrons"].insert(), [{
            "id": 1, "uid": "u" * 20, "library_id": 1, "card_digest": "d" * 64, "card_hint": "0017",
            "display_name": None, "email": "camille@example.org", "birth_year": 1990, "category": None,
            "card_expires": dt.date(2027, 6, 30), "card_problem": None, "last_login_at": NOW,
            "created_at": NOW, "erased_at": None, "updated_at": NOW}])
        conn.execute(t["memberships"].insert(), [{"id": 1, "patron_id": 1, "library_id": 1, "state": "active",
                                                  "consent_at": NOW, "created_at": NOW, "updated_at": NOW}])


def test_an_instance_at_the_first_revision_upgrades_with_its_data(database_url):
    engine = create_engine(database_url)
    upgrade(engine, "0001")
    assert current_revision(engine) == "0001"
    _rows_at_first_revision(engine)

    upgrade(engine)
    upgrade(engine)  # every deploy runs it: the second time changes nothing
    assert pending_differences(engine) == []
    from sqlalchemy.orm import Session

    with Session(engine) as s:
        library = s.scalar(select(Library).where(Library.code == "FR-140476101"))
        assert library.name == "Médiathèque Les 7 Lieux" and library.partner.slug == "bayeux"
        assert s.scalar(select(Network.name)) == "La Boîte numérique"
        assert s.scalar(select(Partner.population)) == 12967
        patron = s.scalar(select(Patron))
        assert patron.card_hint == "0017" and patron.email == "camille@example.org"
        assert s.scalar(select(Membership.state)) == "active"
    engine.dispose()


def test_every_revision_file_chains_after_the_previous_one():
    from alembic.script import ScriptDirectory

    from broker.db.migrate import alembic_config

    script = ScriptDirectory.from_config(alembic_config())
    assert len(script.get_heads()) == 1, "revisions must form one line: each revises the previous head"
    names = sorted(p.name for p in (MIGRATIONS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))
    revisions = [rev.revision for rev in script.walk_revisions("base", "heads")][::-1]
    assert revisions == [n[:4] for n in names]
