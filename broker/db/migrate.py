"""Schema migrations with Alembic: ``broker db upgrade`` and the check that models match them."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Engine

from .models import Base

MIGRATIONS = Path(__file__).parent / "migrations"
#: PostgreSQL advisory lock taken while migrating, so that two nodes deploying at once take turns
MIGRATION_LOCK_ID = 0x5E5A_0001


def alembic_config(engine: Engine | None = None, connection=None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    elif engine is not None:
        cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database schema to ``revision`` (idempotent, safe to run on every deploy).

    On PostgreSQL the whole upgrade runs in one transaction holding an advisory lock: a second
    node that starts migrating at the same time waits, then finds the schema at head and does
    nothing. SQLite serialises writers by itself.
    """
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
        command.upgrade(alembic_config(connection=conn), revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def pending_differences(engine: Engine) -> list:
    """Differences between the models and the migrated schema (empty when in step)."""
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
        return compare_metadata(ctx, Base.metadata)
