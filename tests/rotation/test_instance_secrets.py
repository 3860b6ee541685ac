"""The stable values (pairwise identifiers, card digests…) are stored once per instance, not derived per start."""

from __future__ import annotations

import multiprocessing

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import create_engine, func, select, text

from broker.crypto import STABLE, InstanceKeys
from broker.db.secret_models import InstanceSecret
from broker.errors import ConfigError

OLD = "o" * 16 + "-the-instance-secret-in-use-before"
NEW = "n" * 16 + "-the-instance-secret-after-rotation"


def _hkdf(secret: str, label: str) -> bytes:
    """How every instance derived these values from its secret before it stored them."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"sesame-broker", info=label.encode()).derive(secret.encode())


def _migrated(database_url: str) -> str:
    from broker.db.migrate import upgrade

    engine = create_engine(database_url)
    upgrade(engine)
    engine.dispose()
    return database_url


def _runtime(database_url: str, keys: str):
    from broker.config import load_settings
    from broker.runtime import Runtime

    return Runtime(load_settings({"secret_keys": keys, "database_url": database_url, "log_level": "WARNING"},
                                 environ={}))


def _rows(database_url: str) -> int:
    engine = create_engine(database_url)
    with engine.connect() as conn:
        count = conn.scalar(select(func.count()).select_from(InstanceSecret))
    engine.dispose()
    return count


def _start(database_url: str, keys: str, barrier, queue) -> None:
    barrier.wait(30)
    runtime = _runtime(database_url, keys)
    queue.put((runtime.keys.pairwise.hex(), runtime.keys.cards.hex(), runtime.keys.tokens.hex()))
    runtime.close()


def test_processes_starting_together_store_the_values_once(database_url):
    """Four processes start at once on an upgraded instance: one set of values, the old derivation."""
    url = _migrated(database_url)
    ctx = multiprocessing.get_context("fork")
    barrier, queue = ctx.Barrier(4), ctx.Queue()
    procs = [ctx.Process(target=_start, args=(url, OLD, barrier, queue)) for _ in range(4)]
    for p in procs:
        p.start()
    seen = {queue.get(timeout=60) for _ in procs}
    for p in procs:
        p.join(10)
        assert p.exitcode == 0
    assert seen == {(_hkdf(OLD, "pairwise-identifiers").hex(), _hkdf(OLD, "card-digests").hex(),
                     _hkdf(OLD, "token-hashes").hex())}
    assert _rows(url) == len(STABLE)


def test_values_no_longer_follow_the_secret(database_url):
    url = _migrated(database_url)
    first = _runtime(url, OLD)
    before = {label: first.keys._value(label) for label in STABLE}
    assert before == {label: _hkdf(OLD, label) for label in STABLE}
    first.close()
    rotated = _runtime(url, f"{NEW},{OLD}")
    assert {label: rotated.keys._value(label) for label in STABLE} == before
    rotated.close()


def test_first_start_with_a_list_takes_the_oldest_key(database_url):
    """An instance upgraded and rotated in one go: its values are those of the key it used until then."""
    url = _migrated(database_url)
    runtime = _runtime(url, f"{NEW},{OLD}")
    assert runtime.keys.pairwise == _hkdf(OLD, "pairwise-identifiers")
    runtime.close()
    assert _rows(url) == len(STABLE)


def test_old_key_removed_before_the_rotation_stops_the_start(database_url):
    url = _migrated(database_url)
    _runtime(url, OLD).close()
    with pytest.raises(ConfigError) as err:
        _runtime(url, NEW)
    assert str(err.value).startswith("secret_keys") and "broker secrets rotate" in str(err.value)


def test_values_read_before_they_are_stored_are_the_ones_stored(database_url):
    """A runtime made before the schema (``broker db upgrade``) reads the values lazily, writing nothing."""
    runtime = _runtime(database_url, OLD)  # no table yet: nothing stored at start
    from broker.db.migrate import upgrade

    upgrade(runtime.db.engine)
    with runtime.db.session() as s:  # inside a writing transaction, as a demo load or a login would be
        s.execute(text("UPDATE networks SET name = name"))
        assert runtime.keys.cards == _hkdf(OLD, "card-digests")
    assert _rows(database_url) == 0
    runtime.close()
    _runtime(database_url, OLD).close()  # the next start stores them
    assert _rows(database_url) == len(STABLE)


def test_encryption_and_macs_follow_the_list():
    old, both, new = InstanceKeys(OLD), InstanceKeys([NEW, OLD]), InstanceKeys(NEW)
    sealed = old.encrypt(b"connector password")
    assert both.decrypt(sealed) == b"connector password"
    moved = both.reencrypt(sealed)
    assert new.decrypt(moved) == b"connector password"
    from broker.crypto import DecryptionError

    with pytest.raises(DecryptionError):
        new.decrypt(sealed)
    with pytest.raises(DecryptionError):
        old.decrypt(moved)
    assert both.mac_keys("fresh-login") == (new.mac_keys("fresh-login")[0], old.mac_keys("fresh-login")[0])
    # the key that signed before the rotation is the one the instance used then
    import hashlib

    assert old.mac_keys("fresh-login")[0] == hashlib.sha256(b"fresh-login\x1f" + _hkdf(OLD, "token-hashes")).digest()


def test_fresh_login_marker_and_oidc_code_of_the_old_key(make_app):
    """A forced-login marker or an authorization code made just before the rotation still counts."""
    from broker.providers.oidc.tokens import TokenStore
    from broker.providers.portal_handoff import fresh_marker, fresh_since

    before = make_app(secret_key=OLD).extensions["broker"]
    marker, code = fresh_marker(before), TokenStore(before).new_code()
    during = make_app(secret_key=NEW, secret_keys=f"{NEW},{OLD}").extensions["broker"]
    assert fresh_since(during, marker) is not None and TokenStore(during).is_ours(code)
    after = make_app(secret_key=NEW).extensions["broker"]
    assert fresh_since(after, marker) is None and not TokenStore(after).is_ours(code)
