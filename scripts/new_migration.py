"""Write the next additive schema revision from the difference between the models and the migrations.

Usage: python scripts/new_migration.py "what changes"   (or: make migration MSG="what changes")

Revisions are numbered 0002, 0003, … and each one revises the previous head. A revision that has
been released is never edited or regenerated: an instance created with it must upgrade to every
later version (tests/db/test_upgrade_path.py checks the released ones have not changed).
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from broker.db.migrate import MIGRATIONS, alembic_config, upgrade


def main(argv: list[str]) -> int:
    message = " ".join(argv).strip()
    if not message:
        print("usage: python scripts/new_migration.py MESSAGE", file=sys.stderr)
        return 2
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    rev_id = f"{int(head) + 1:04d}"
    slug = re.sub(r"[^a-z0-9]+", "_", message.lower()).strip("_")[:40]
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{Path(tmp) / 'head.db'}")
        upgrade(engine)
        with engine.begin() as conn:
            script = command.revision(alembic_config(connection=conn), message=message, autogenerate=True,
                                      rev_id=rev_id)
        engine.dispose()
    target = MIGRATIONS / "versions" / f"{rev_id}_{slug}.py"
    Path(script.path).rename(target)
    print("wrote", target, "- read it and adjust it before committing")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
