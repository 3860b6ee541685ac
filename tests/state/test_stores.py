"""Both state stores keep the same promises: TTLs, atomic take-once, counters — across processes."""

import multiprocessing
import time

import pytest
from sqlalchemy import create_engine

from broker.db.migrate import upgrade
from broker.state.redis_store import RedisStateStore
from broker.state.sql_store import SqlStateStore
from broker.testing import MovableClock


@pytest.fixture(params=["sql-sqlite", "sql-postgresql", "redis"])
def store_spec(request, tmp_path, postgres_url, redis_url):
    if request.param == "redis":
        return ("redis", redis_url)
    if request.param == "sql-postgresql":
        if postgres_url is None:
            pytest.skip("no PostgreSQL server answers on 127.0.0.1:5432")
        from fixtures.servers import reset_postgres as _reset_postgres

        _reset_postgres(postgres_url)
        url = postgres_url
    else:
        url = f"sqlite:///{tmp_path / 'state.db'}"
    engine = create_engine(url)
    upgrade(engine)
    engine.dispose()
    return ("sql", url)


def open_store(spec, clock=None):
    kind, url = spec
    if kind == "redis":
        return RedisStateStore(url)
    from broker.db import Database

    return SqlStateStore(Database(url).engine, purge_probability=0, clock=clock)


def with_clock(spec):
    """A store and a way to let ``seconds`` pass: the SQL store reads a clock the test moves;
    Redis expires keys by its own clock, so for Redis the test waits for the real server."""
    clock = MovableClock()
    store = open_store(spec, clock)
    if spec[0] == "redis":
        return store, time.sleep
    return store, clock.advance


def test_put_get_delete_and_ttl(store_spec):
    store, wait = with_clock(store_spec)
    store.put("a", {"x": 1}, 60)
    assert store.get("a") == {"x": 1}
    store.put("a", {"x": 2}, 60)
    assert store.get("a") == {"x": 2}
    assert store.get_many(["a", "missing"]) == [{"x": 2}, None]
    store.delete("a")
    assert store.get("a") is None
    store.put("short", {"y": 1}, 1)
    wait(1.2)
    assert store.get("short") is None
    assert store.take("short") is None


def test_put_replacing_deletes_the_old_key_in_the_same_write(store_spec):
    store = open_store(store_spec)
    store.put("sess:old", {"uid": "u"}, 60)
    store.put("sess:new", {"uid": "u", "n": 2}, 60, replacing="sess:old")
    assert store.get_many(["sess:old", "sess:new"]) == [None, {"uid": "u", "n": 2}]
    store.put("sess:newer", {"n": 3}, 60, replacing="sess:gone")  # an absent old key is no error
    assert store.get("sess:newer") == {"n": 3}


def test_add_only_when_absent(store_spec):
    store, wait = with_clock(store_spec)
    assert store.add("k", {"v": 1}, 60) is True
    assert store.add("k", {"v": 2}, 60) is False
    assert store.get("k") == {"v": 1}
    store.put("exp", {"v": 1}, 1)
    wait(1.2)
    assert store.add("exp", {"v": 3}, 60) is True
    assert store.get("exp") == {"v": 3}


def test_touch_extends_live_keys_only(store_spec):
    store, wait = with_clock(store_spec)
    store.put("t", {"v": 1}, 1)
    assert store.touch("t", 60) is True
    wait(1.2)
    assert store.get("t") == {"v": 1}
    assert store.touch("absent", 60) is False


def test_counters_and_window(store_spec):
    store, wait = with_clock(store_spec)
    assert [store.incr("c", 60) for _ in range(3)] == [1, 2, 3]
    assert store.incr("w", 1) == 1
    wait(1.2)
    assert store.incr("w", 1) == 1


def test_read_and_count_reads_the_keys_and_counts_at_once(store_spec):
    store = open_store(store_spec)
    store.put("r1", {"v": 1}, 60)
    assert store.read_and_count(["r1", "missing"], "rc", 60) == ([{"v": 1}, None], 1)
    assert store.read_and_count(["rc-absent"], "rc", 60) == ([None], 2)
    assert store.read_and_count([], "rc", 60) == ([], 3)
    assert store.incr("rc", 60) == 4  # the same counter as incr's


def test_the_redis_store_puts_several_keys_in_one_round_trip(redis_url):
    store = RedisStateStore(redis_url)
    trips = []
    run = store._run
    store._run = lambda *commands: trips.append(len(commands)) or run(*commands)  # type: ignore[method-assign]
    store.put_many([("pm1", {"v": 1}, 60), ("pm2", {"v": 2}, 60)])
    assert trips == [2]
    assert store.get_many(["pm1", "pm2"]) == [{"v": 1}, {"v": 2}]


def _worker(spec, keys, increments, start, queue):
    store = open_store(spec)
    start.wait(30)  # every process races for the same keys at once
    taken = [key for key in keys if store.take(key) is not None]
    for _ in range(increments):
        store.incr("shared", 60)
    queue.put(taken)


def test_take_once_and_counters_across_processes(store_spec):
    """Of four processes racing, exactly one gets each one-time value, and no increment is lost."""
    store = open_store(store_spec)
    keys = [f"code{i}" for i in range(20)]
    for key in keys:
        store.put(key, {"v": key}, 60)
    ctx = multiprocessing.get_context("spawn")
    queue, start = ctx.Queue(), ctx.Event()
    procs = [ctx.Process(target=_worker, args=(store_spec, keys, 25, start, queue)) for _ in range(4)]
    for p in procs:
        p.start()
    start.set()
    taken = [key for _ in procs for key in queue.get(timeout=60)]
    for p in procs:
        p.join(30)
    assert sorted(taken) == sorted(keys)
    assert store.incr("shared", 60) == 101


def test_redis_down_is_unavailable_not_a_crash():
    from broker.state import StateUnavailable
    from fixtures.servers import free_port

    store = RedisStateStore(f"redis://127.0.0.1:{free_port()}/0", timeout=0.5)
    with pytest.raises(StateUnavailable):
        store.get("x")
    with pytest.raises(StateUnavailable):
        store.ping()


def test_redis_connection_closed_by_the_server_is_replaced_without_an_error(redis_url):
    """A Redis restart or failover leaves idle connections dead: the next command goes through a new one."""
    import redis

    store = RedisStateStore(redis_url)
    store.put("kept", {"v": 1}, 60)
    admin = redis.Redis.from_url(redis_url)
    try:
        assert admin.client_kill_filter(_type="normal", skipme=True) >= 1  # the store's idle connection
    finally:
        admin.close()
    assert store.get("kept") == {"v": 1}
    assert store.incr("after-kill", 60) == 1


def _own_values(store, key: str, rounds: int, queue) -> None:
    queue.put(all(store.get(key) == {"who": key} for _ in range(rounds)))


def test_redis_connections_are_never_shared_with_a_forked_process(redis_url):
    """A process forked after the store was used (gunicorn --preload) opens its own connections:
    a shared socket would hand one process the other's replies."""
    store = RedisStateStore(redis_url)
    store.put("parent", {"who": "parent"}, 60)
    store.put("child", {"who": "child"}, 60)
    assert store.get("parent") == {"who": "parent"}  # the connection exists before the fork
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_own_values, args=(store, "child", 300, queue))  # inherited, not pickled
    child.start()
    mine = all(store.get("parent") == {"who": "parent"} for _ in range(300))
    assert queue.get(timeout=30) is True and mine
    child.join(10)
    assert child.exitcode == 0
