"""The stable values of an instance, kept in ``instance_secrets`` so that the instance secret may rotate.

Pairwise identifiers, card digests, the patrons' keys on usage events and the
lookup hashes of tokens must never change. They used to be derived from the
instance secret itself; now each is stored once, encrypted under the current
secret. The first start after an upgrade stores exactly the values the instance
derived until then (from its oldest listed key), so nothing a supplier or the
database holds changes; from then on they no longer depend on the secret.

They are stored when a runtime starts on a migrated database, after ``broker db
upgrade`` and before ``broker secrets rotate``: each time outside any other
transaction. Several processes may start together: each inserts what is missing
with "insert unless present", then reads back what the database holds, so all
use the same values whichever wrote first.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError, ProgrammingError

from .crypto import STABLE, DecryptionError, InstanceKeys, derive_stable
from .db import Database, clock_of
from .db.secret_models import InstanceSecret
from .errors import ConfigError


def ensure(db: Database, keys: InstanceKeys) -> dict[str, bytes]:
    """The stable values, stored first (derived from the oldest key) where the database lacks them.

    Call it outside any transaction of this process: on SQLite the insert waits for the writer's lock.
    """
    sealed = _read(db)
    if any(name not in sealed for name in STABLE):
        initial = derive_stable(keys.secret_keys[-1])
        with db.engine.begin() as conn:  # the insert opens the transaction: SQLite waits for the writer lock
            _insert_missing(conn, {name: keys.encrypt(initial[name]) for name in STABLE if name not in sealed})
        sealed = _read(db)
    return _open(keys, sealed)


def load(db: Database, keys: InstanceKeys) -> dict[str, bytes]:
    """The stable values as stored, writing nothing (it may run inside a transaction).

    Values not stored yet are those :func:`ensure` will store: derived from the oldest key.
    """
    sealed = _read(db)
    missing = [name for name in STABLE if name not in sealed]
    values = _open(keys, {k: v for k, v in sealed.items() if k in STABLE})
    if missing:
        initial = derive_stable(keys.secret_keys[-1])
        values.update({name: initial[name] for name in missing})
    return values


def prime(db: Database, keys: InstanceKeys) -> bool:
    """At start: store and load the stable values if the schema has their table (False if not yet)."""
    if db.is_sqlite:
        path = db.engine.url.database
        if not path or path == ":memory:" or not Path(path).is_file():
            return False  # no database yet: nothing to create here, ``broker db upgrade`` will
    try:
        values = ensure(db, keys)
    except (OperationalError, ProgrammingError):  # not migrated yet, or the database is not there
        return False
    keys.use_stable(values)
    return True


def check_at_start(settings) -> None:
    """Before serving: the list opens the stored values (ConfigError naming secret_keys if not), stored if new."""
    db = Database(settings.effective_database_url)
    try:
        prime(db, InstanceKeys(settings.secret_keys))
    finally:
        db.dispose()


def _read(db: Database) -> dict[str, bytes]:
    with db.engine.connect() as conn:
        return {name: bytes(value) for name, value in conn.execute(select(InstanceSecret.name, InstanceSecret.sealed))}


def _open(keys: InstanceKeys, sealed: dict[str, bytes]) -> dict[str, bytes]:
    values = {}
    for name, token in sealed.items():
        try:
            values[name] = keys.decrypt(token)
        except DecryptionError:
            raise ConfigError("secret_keys", "no key decrypts the instance secrets (table instance_secrets): "
                                             "keep the previous key listed after the new one until "
                                             "`broker secrets rotate` has run") from None
    return values


def _insert_missing(conn: Connection, sealed: dict[str, bytes]) -> None:
    rows = [{"name": name, "sealed": value, "created_at": clock_of(conn.engine).utcnow()} for name, value in sealed.items()]
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    conn.execute(insert(InstanceSecret).on_conflict_do_nothing(index_elements=["name"]), rows)
