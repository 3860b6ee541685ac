"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from sqlalchemy import create_engine, inspect

from broker.db.migrate import current_revision, pending_differences, upgrade
from broker.db.models import Base


def test_upgrade_is_idempotent_and_matches_models(database_url):
    engine = create_engine(database_url)
    upgrade(engine)
    upgrade(engine)
    assert current_revision(engine) is not None
    assert pending_differences(engine) == []
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    engine.dispose()
