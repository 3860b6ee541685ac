"""StampedCache: the one shape of the per-process caches (libraries, patrons' changes, suppliers, keys).

The clock is a list the test moves; the database ones run on a real SQLite file.
"""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from broker.db.models import Base, Network
from broker.stamped_cache import StampedCache


class Source:
    """A stamp source and a loader that count their calls."""

    def __init__(self) -> None:
        self.version = 1
        self.stamps = 0
        self.loads = 0
        self.fail: Exception | None = None

    def stamp(self) -> int:
        self.stamps += 1
        if self.fail is not None:
            raise self.fail
        return self.version

    def load(self, stamp: int) -> str:
        self.loads += 1
        return f"value {stamp}"


@pytest.fixture
def now():
    return [100.0]


@pytest.fixture
def source():
    return Source()


def make(source: Source, now: list[float], **options) -> StampedCache[int, str]:
    return StampedCache(source.stamp, source.load, clock=lambda: now[0], **options)


def test_the_stamp_is_read_once_per_interval_and_the_value_rebuilt_only_when_it_changes(source, now):
    cache = make(source, now, interval=2.0)
    assert cache.get() == "value 1" and (source.stamps, source.loads) == (1, 1)
    now[0] += 1.9
    assert cache.get() == "value 1" and source.stamps == 1 and cache.fresh()
    now[0] += 0.2
    assert not cache.fresh()
    assert cache.get() == "value 1" and (source.stamps, source.loads) == (2, 1)  # same stamp: kept
    source.version = 2
    assert cache.get() == "value 1"  # within the interval: a change elsewhere is not seen yet
    now[0] += 2.0
    assert cache.get() == "value 2" and (source.stamps, source.loads) == (3, 2)


def test_max_age_rebuilds_what_the_stamp_cannot_see(source, now):
    cache = make(source, now, interval=1.0, max_age=10.0)
    cache.get()
    for _ in range(9):
        now[0] += 1.0
        cache.get()
    assert source.loads == 1
    now[0] += 1.0
    cache.get()
    assert source.loads == 2


def test_invalidate_rebuilds_at_the_next_read(source, now):
    cache = make(source, now, interval=60.0)
    cache.get()
    cache.invalidate()
    assert cache.peek() is None and not cache.fresh()
    assert cache.get() == "value 1" and source.loads == 2


def test_a_change_during_a_load_is_not_hidden_by_it(now):
    calls = []

    def load(stamp: int) -> str:
        calls.append(stamp)
        if len(calls) == 1:
            cache.invalidate()  # this process changed the source while the first load was reading it
        return f"load {len(calls)}"

    cache = StampedCache(lambda: 1, load, interval=60.0, clock=lambda: now[0])
    assert cache.get() == "load 1"  # the caller gets what was read...
    assert cache.get() == "load 2"  # ...but it is not kept


def test_a_failing_stamp_source_keeps_the_value_only_when_told(source, now):
    kept = make(source, now, interval=1.0, keep_on=(ConnectionError,))
    with pytest.raises(ConnectionError):  # nothing to keep yet
        source.fail = ConnectionError("down")
        kept.get()
    source.fail = None
    assert kept.get() == "value 1"
    source.fail = ConnectionError("down")
    now[0] += 1.0
    assert kept.get() == "value 1"
    assert kept.get() == "value 1" and source.stamps == 3  # looked again only after the interval

    strict = make(source, now, interval=1.0)
    source.fail = None
    strict.get()
    source.fail = RuntimeError("down")
    now[0] += 1.0
    for _ in range(2):  # a failed look is not a look: every read asks again
        with pytest.raises(RuntimeError):
            strict.get()


def test_arguments_of_get_reach_the_stamp_source_and_the_loader(now):
    seen = []
    cache = StampedCache(lambda who: seen.append(("stamp", who)) or 1,
                         lambda stamp, who: seen.append(("load", who)) or who, interval=1.0, clock=lambda: now[0])
    assert cache.get("caller") == "caller"
    assert seen == [("stamp", "caller"), ("load", "caller")]


@pytest.fixture
def sessions(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'cache.db'}")
    Base.metadata.create_all(engine, tables=[Network.__table__])
    yield sessionmaker(engine, expire_on_commit=False)
    engine.dispose()


def test_a_commit_of_a_watched_class_through_the_factory_invalidates(source, now, sessions):
    cache = make(source, now, interval=60.0)
    cache.invalidate_on_commit(sessions, (Network,))
    cache.get()
    with sessions() as s:
        s.add(Network(slug="calvados", name="Calvados"))
        s.flush()
        assert cache.changed_in(s)  # flushed, not committed: this transaction's reads bypass the cache
        s.rollback()
    assert cache.get() and source.loads == 1  # rolled back: nothing changed
    with sessions() as s:
        s.add(Network(slug="calvados", name="Calvados"))
        assert cache.changed_in(s)
        s.commit()
    assert cache.peek() is None
    cache.get()
    assert source.loads == 2


def test_only_the_factory_watched_is_heard(source, now, sessions):
    cache = make(source, now, interval=60.0)
    cache.invalidate_on_commit(sessions, (Network,))
    other = sessionmaker(sessions.kw["bind"])  # another app's factory on the same database
    cache.get()
    with other() as s:
        s.add(Network(slug="manche", name="Manche"))
        s.commit()
    assert cache.peek() is not None and source.loads == 1  # seen at the next look at the stamp only
