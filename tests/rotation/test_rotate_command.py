"""``broker secrets rotate``: everything encrypted at rest moves to the newest key, or nothing does."""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import create_engine, select

from broker.db.models import AuditEvent, CryptoKey, Library
from broker.db.secret_models import InstanceSecret
from fixtures.live import SECRET as OLD
from fixtures.live import app_at

NEW = "the-new-instance-secret-after-a-leak-9876543210"


@pytest.fixture(scope="module")
def keyed_demo(tmp_path_factory, demo_db):
    """The demo network (encrypted SIGB credentials) with its signing keys, all under OLD."""
    from broker.keys import PURPOSES

    path = tmp_path_factory.mktemp("keyed-demo") / "broker.db"
    shutil.copy(demo_db(sip2="offline"), path)
    app = app_at(path.parent, str(path))
    store = app.extensions["broker"].key_store
    for purpose in PURPOSES:
        store.current(purpose)
    app.extensions["broker"].close()
    return path


@pytest.fixture
def database(keyed_demo, tmp_path):
    target = tmp_path / "broker.db"
    shutil.copy(keyed_demo, target)
    return target


def _sealed(database) -> dict[str, bytes]:
    engine = create_engine(f"sqlite:///{database}")
    with engine.connect() as conn:
        found = {f"key:{kid}": bytes(v) for kid, v in conn.execute(select(CryptoKey.kid, CryptoKey.private_encrypted))}
        found.update({f"secret:{n}": bytes(v) for n, v in conn.execute(select(InstanceSecret.name, InstanceSecret.sealed))})
        found.update({f"library:{c}": bytes(v) for c, v in conn.execute(
            select(Library.code, Library.connector_secrets).where(Library.connector_secrets.is_not(None)))})
    engine.dispose()
    return found


def _seal_in_supplier(database, slug: str, value: bytes) -> None:
    """A provider's secret in a supplier's protocol settings, encrypted under OLD (as a link supplier's is)."""
    from broker.crypto import InstanceKeys
    from broker.db.models import Supplier

    engine = create_engine(f"sqlite:///{database}")
    with engine.begin() as conn:
        config = conn.scalar(select(Supplier.config).where(Supplier.slug == slug)) or {}
        config["link"] = {"secret_encrypted": InstanceKeys(OLD).encrypt(value).decode(), "lifetime": 60}
        conn.execute(Supplier.__table__.update().where(Supplier.slug == slug).values(config=config))
    engine.dispose()


def _supplier_secret(database, slug: str) -> str:
    from broker.db.models import Supplier

    engine = create_engine(f"sqlite:///{database}")
    with engine.connect() as conn:
        value = conn.scalar(select(Supplier.config).where(Supplier.slug == slug))["link"]["secret_encrypted"]
    engine.dispose()
    return value


def _spoil(database, code: str) -> None:
    engine = create_engine(f"sqlite:///{database}")
    with engine.begin() as conn:
        conn.execute(Library.__table__.update().where(Library.code == code).values(connector_secrets=b"not a token"))
    engine.dispose()


def test_rotate_reencrypts_everything_and_says_what(database, broker_cli_at):
    from broker.crypto import DecryptionError, InstanceKeys

    _seal_in_supplier(database, "cafeyn", b"shared link secret")
    before = _sealed(database)
    result = broker_cli_at(database, f"{NEW},{OLD}", "secrets", "rotate")
    assert result.exit_code == 0, result.output
    assert "re-encrypted under the newest of 2 key(s):" in result.stdout and "crypto_keys: 4" in result.stdout
    after = _sealed(database)
    assert after.keys() == before.keys() and all(after[k] != before[k] for k in before)
    assert "suppliers: 1" in result.stdout
    sealed = _supplier_secret(database, "cafeyn").encode()
    assert InstanceKeys(NEW).decrypt(sealed) == b"shared link secret"
    with pytest.raises(DecryptionError):
        InstanceKeys(OLD).decrypt(sealed)
    # the new key alone opens all of it: the stored values and the signing keys are usable
    result = broker_cli_at(database, NEW, "secrets", "rotate", "--json")
    assert result.exit_code == 0 and result.json()["unreadable"] == {} and result.json()["keys"] == 1
    engine = create_engine(f"sqlite:///{database}")
    with engine.connect() as conn:
        assert conn.scalars(select(AuditEvent.action).where(AuditEvent.action == "secrets.rotate")).all() == [
            "secrets.rotate"] * 2
    engine.dispose()


def test_unreadable_secret_refuses_the_rotation_and_writes_nothing(database, broker_cli_at):
    _spoil(database, "FR-140476101")
    before = _sealed(database)
    result = broker_cli_at(database, f"{NEW},{OLD}", "secrets", "rotate", "--json")
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "libraries: FR-140476101" in result.stderr
    assert "--keep-unreadable" in result.stderr
    assert _sealed(database) == before

    result = broker_cli_at(database, f"{NEW},{OLD}", "secrets", "rotate", "--json", "--keep-unreadable")
    assert result.exit_code == 0, result.output
    assert result.json()["unreadable"] == {"libraries": ["FR-140476101"]}
    after = _sealed(database)
    assert after["library:FR-140476101"] == b"not a token"
    assert all(after[k] != before[k] for k in before if k != "library:FR-140476101")


def test_old_key_removed_too_early_is_a_config_error(database, broker_cli_at):
    result = broker_cli_at(database, NEW, "secrets", "rotate")
    assert result.exit_code == 2 and result.stderr.startswith("error: secret_keys: no key decrypts")
    assert result.stderr.count("\n") == 1


def test_db_upgrade_stores_the_values(tmp_path, migrated_sqlite_template, broker_cli_at):
    from broker.crypto import STABLE

    fresh = tmp_path / "fresh.db"  # created by the upgrade itself
    result = broker_cli_at(fresh, OLD, "db", "upgrade")
    assert result.exit_code == 0, result.output
    assert {k.split(":", 1)[1] for k in _sealed(fresh) if k.startswith("secret:")} == set(STABLE)


def test_serve_with_the_old_key_removed_too_early_stops_in_one_line(database, tmp_path):
    """``broker serve`` says it before starting any worker: one line naming secret_keys, exit 2."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from fixtures.servers import free_port

    root = Path(__file__).resolve().parent.parent.parent
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(root), "BROKER_SECRET_KEYS": NEW,
           "BROKER_DATABASE_URL": f"sqlite:///{database}", "BROKER_INSTANCE_PATH": str(tmp_path / "instance")}
    proc = subprocess.run([sys.executable, "-m", "broker.cli", "serve", "--bind", f"127.0.0.1:{free_port()}"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr[-500:]
    assert proc.stderr.strip().count("\n") == 0 and proc.stderr.startswith("error: secret_keys: no key decrypts")
