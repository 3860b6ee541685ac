"""Every SIGB call goes through one gateway: circuit breaker shared through the state store, lookup cache."""

import time

import pytest

from broker.domain.connectors import ConnectorUnavailable, InvalidCredentials
from broker.services import libraries


@pytest.fixture
def dead_library(demo_app):
    """A SIP2 library pointing at a port where nothing listens."""
    from support import free_port

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
    assert not runtime.sigb.breaker_open("FR-140476101")


def test_breaker_opens_after_failures_and_fails_fast(dead_library):
    runtime = dead_library.extensions["broker"]
    with runtime.db.session() as s:
        lib = libraries.connection(libraries.get_library(s, "FR-143666101"))
    for _ in range(runtime.settings.connector_breaker_failures):
        with pytest.raises(ConnectorUnavailable):
            runtime.sigb.authenticate(lib, "1", "2")
    assert runtime.sigb.breaker_open("FR-143666101")
    started = time.perf_counter()
    with pytest.raises(ConnectorUnavailable, match="circuit breaker"):
        runtime.sigb.authenticate(lib, "1", "2")
    assert time.perf_counter() - started < 0.5


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
