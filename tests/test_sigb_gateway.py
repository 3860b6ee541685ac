"""Every SIGB call goes through one gateway: circuit breaker shared through the state store, lookup cache."""

import socket
import time

import pytest

from broker.domain.connectors import ConnectorUnavailable, InvalidCredentials
from broker.services import libraries


@pytest.fixture
def dead_library(demo_app):
    """A SIP2 library pointing at a port where nothing listens."""
    from fixtures.servers import free_port

    runtime = demo_app.extensions["broker"]
    with runtime.db.session() as s:
        libraries.update_connector(runtime, s, "FR-143666101", "sip2",
                                   {"host": "127.0.0.1", "port": str(free_port()), "login": "x", "password": "y", "institution": "FR-143666101",
                                    "timeout": "1"}, actor="test")
    return demo_app


def test_sip2_login_through_gateway(demo_app):
    runtime = demo_app.extensions["broker"]
    with runtime.db.session() as s:
        lib = libraries.connection(libraries.get_library(s, "FR-140476101"))
    record = runtime.sigb.authenticate(lib, "29001000000017", "1234")
    assert record.name == "Camille Martin"
    with pytest.raises(InvalidCredentials):
        runtime.sigb.authenticate(lib, "29001000000017", "9999")
    assert runtime.state.get("breaker:FR-140476101") is None


def test_breaker_opens_after_failures_and_fails_fast(dead_library):
    runtime = dead_library.extensions["broker"]
    with runtime.db.session() as s:
        lib = libraries.connection(libraries.get_library(s, "FR-143666101"))
    for _ in range(runtime.settings.connector_breaker_failures):
        with pytest.raises(ConnectorUnavailable):
            runtime.sigb.authenticate(lib, "1", "2")
    assert runtime.state.get("breaker:FR-143666101") is not None  # open
    # the SIGB answers again, but the open breaker refuses without calling it
    with socket.create_server(("127.0.0.1", int(lib.settings["port"]))) as sigb:
        with pytest.raises(ConnectorUnavailable, match="circuit breaker"):
            runtime.sigb.authenticate(lib, "1", "2")
        sigb.setblocking(False)
        with pytest.raises(BlockingIOError):
            sigb.accept()  # nobody connected


def test_lookup_cache_never_holds_the_card_or_secret(demo_app):
    runtime = demo_app.extensions["broker"]
    with runtime.db.session() as s:
        lib = libraries.connection(libraries.get_library(s, "FR-140476101"))
    runtime.sigb.authenticate(lib, "29001000000017", "1234")
    from sqlalchemy import text

    with runtime.db.engine.connect() as conn:
        rows = conn.execute(text("SELECT key, value FROM state_entries")).all()
    assert rows, "the successful answer is cached"
    dump = repr(rows)
    assert "29001000000017" not in dump and "1234" not in dump.replace("2001", "")
    cached = runtime.sigb.lookup(lib, "29001000000017")
    assert cached.name == "Camille Martin" and cached.card == "29001000000017"


def test_a_login_check_can_leave_nothing_in_the_cache(demo_app):
    runtime = demo_app.extensions["broker"]
    with runtime.db.session() as s:
        lib = libraries.connection(libraries.get_library(s, "FR-140476101"))
    record = runtime.sigb.authenticate(lib, "29001000000017", "1234", remember=False)
    assert record.name == "Camille Martin"
    from sqlalchemy import text

    with runtime.db.engine.connect() as conn:
        keys = [k for (k,) in conn.execute(text("SELECT key FROM state_entries"))]
    assert not [k for k in keys if k.startswith("sigb-cache:")]


@pytest.fixture
def frozen_library(demo_app):
    """A SIP2 library whose SIGB accepts connections and never answers (a frozen server)."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)  # the kernel completes the handshakes; nothing ever reads or writes
    runtime = demo_app.extensions["broker"]
    with runtime.db.session() as s:
        libraries.update_connector(runtime, s, "FR-143666101", "sip2",
                                   {"host": "127.0.0.1", "port": str(listener.getsockname()[1]), "login": "x",
                                    "password": "y", "institution": "FR-143666101", "timeout": "1"}, actor="test")
        lib = libraries.connection(libraries.get_library(s, "FR-143666101"))
    yield runtime, lib, listener
    listener.close()


def connections_made(listener) -> int:
    """How many connections reached the frozen SIGB since the last count (each accepted and closed)."""
    listener.setblocking(False)
    count = 0
    while True:
        try:
            conn, _ = listener.accept()
        except BlockingIOError:
            return count
        conn.close()
        count += 1


def test_a_failing_sigb_is_waited_for_by_one_call_at_a_time(frozen_library):
    """Once a call has failed, a second call finding one unanswered gives up at once, without counting."""
    import threading

    from broker.sigb import SLOW_CALL_SECONDS

    runtime, lib, sigb = frozen_library
    with pytest.raises(ConnectorUnavailable):  # the first failure: the connector's own timeout
        runtime.sigb.authenticate(lib, "1", "2", remember=False)
    per_call = connections_made(sigb)
    assert per_call >= 1
    waiting: list[BaseException] = []

    def first() -> None:
        try:
            runtime.sigb.authenticate(lib, "1", "2", remember=False)
        except ConnectorUnavailable as exc:
            waiting.append(exc)

    thread = threading.Thread(target=first)
    thread.start()
    deadline = time.monotonic() + 5
    while runtime.state.get("sigb-waiting:FR-143666101") is None:  # the first call has taken its turn
        assert time.monotonic() < deadline, "the first call never took its turn"
        time.sleep(0.01)
    runtime.clock.advance(SLOW_CALL_SECONDS + 0.2)  # and has waited longer than a SIGB that answers takes
    with pytest.raises(ConnectorUnavailable, match="still unanswered"):
        runtime.sigb.authenticate(lib, "1", "2", remember=False)
    thread.join()
    assert connections_made(sigb) == per_call  # only the first call's: the refused one held no second worker
    assert len(waiting) == 1 and "still unanswered" not in str(waiting[0])
    assert runtime.state.get("breaker-fail:FR-143666101") == 2  # the refused call is not a SIGB failure
    # the turn is handed back: the next call waits for the SIGB again (its own timeout)
    started = time.perf_counter()
    with pytest.raises(ConnectorUnavailable) as third:
        runtime.sigb.authenticate(lib, "1", "2", remember=False)
    assert "still unanswered" not in str(third.value) and time.perf_counter() - started >= 0.9


def test_concurrent_calls_to_a_sigb_that_answers_are_not_refused_after_a_failure(demo_app):
    """A failure noted lately does not turn away a call that overlaps a quick one."""
    runtime = demo_app.extensions["broker"]
    with runtime.db.session() as s:
        lib = libraries.connection(libraries.get_library(s, "FR-140476101"))
    runtime.state.incr("breaker-fail:FR-140476101", 60)  # one failure, a while ago
    runtime.state.put("sigb-waiting:FR-140476101", {"at": time.time()}, 30)  # another worker's call, just begun
    record = runtime.sigb.authenticate(lib, "29001000000017", "1234", remember=False)
    assert record.name == "Camille Martin"


def test_after_two_failures_a_call_finding_another_waiting_gives_up_at_once(demo_app):
    runtime = demo_app.extensions["broker"]
    with runtime.db.session() as s:
        lib = libraries.connection(libraries.get_library(s, "FR-140476101"))
    for _ in range(2):
        runtime.state.incr("breaker-fail:FR-140476101", 60)
    runtime.state.put("sigb-waiting:FR-140476101", {"at": time.time()}, 30)  # another worker's call, just begun
    with pytest.raises(ConnectorUnavailable, match="still unanswered"):
        runtime.sigb.authenticate(lib, "29001000000017", "1234", remember=False)
    runtime.state.delete("sigb-waiting:FR-140476101")  # that call is answered
    assert runtime.sigb.authenticate(lib, "29001000000017", "1234", remember=False).name == "Camille Martin"
    assert runtime.state.get("breaker-fail:FR-140476101") is None  # and a success forgets the failures
