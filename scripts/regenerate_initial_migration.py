"""Regenerate the initial schema revision from the models (used until the first release).

Usage: python scripts/regenerate_initial_migration.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine

from broker.db.migrate import MIGRATIONS, alembic_config

VERSIONS = MIGRATIONS / "versions"


def main() -> None:
    for old in VERSIONS.glob("0001_*.py"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{Path(tmp) / 'empty.db'}")
        with engine.begin() as conn:
            cfg = alembic_config(connection=conn)
            command.revision(cfg, message="initial schema", autogenerate=True, rev_id="0001")
    for path in VERSIONS.glob("0001_*.py"):
        path.rename(VERSIONS / "0001_initial_schema.py")
    print("wrote", VERSIONS / "0001_initial_schema.py")


if __name__ == "__main__":
    main()
