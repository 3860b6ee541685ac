"""How the Koha connector authenticates itself: OAuth2 client credentials or basic auth."""

from __future__ import annotations

import threading

import pytest

from broker.domain.connectors import ConnectorContext, ConnectorProtocolError, ConnectorUnavailable
from broker.testing import MovableClock
from connectors.koha import KohaConnector


def test_oauth2_token_is_fetched_once_and_cached(koha_settings, koha):
    conn = KohaConnector(koha_settings())
    for _ in range(5):
        conn.authenticate("KOHA0001", "alice-pw")
    assert koha.tokens_issued == 1 and conn.http.tokens_fetched == 1
    conn.close()


def test_token_is_fetched_once_by_concurrent_callers(koha_settings, koha):
    conn = KohaConnector(koha_settings())
    threads = [threading.Thread(target=conn.authenticate, args=("KOHA0001", "alice-pw")) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert koha.tokens_issued == 1
    conn.close()


def test_revoked_token_is_renewed_once(koha_settings, koha):
    conn = KohaConnector(koha_settings())
    conn.authenticate("KOHA0001", "alice-pw")
    koha.revoke_tokens()
    assert conn.authenticate("KOHA0001", "alice-pw").name == "Alice Martin"
    assert koha.tokens_issued == 2
    conn.close()


def test_token_is_renewed_before_it_expires(koha_settings, koha):
    koha.token_lifetime = 1  # renewed after half its life when that is shorter than the margin
    clock = MovableClock()
    conn = KohaConnector(koha_settings(), context=ConnectorContext("KOHA", clock=clock))
    conn.authenticate("KOHA0001", "alice-pw")
    clock.advance(0.6)
    conn.authenticate("KOHA0001", "alice-pw")
    assert koha.tokens_issued == 2
    conn.close()


def test_wrong_client_secret_is_unavailable(koha_settings, koha):
    conn = KohaConnector(koha_settings(client_secret="nope"))
    with pytest.raises(ConnectorUnavailable, match="OAuth2 client credentials: unauthorized_client"):
        conn.authenticate("KOHA0001", "alice-pw")
    health = conn.check()
    assert not health.ok and "OAuth2" in health.detail
    conn.close()


def test_unusable_token_answer_is_a_protocol_error(koha_settings, koha):
    koha.fault("/api/v1/oauth/token", "array")
    conn = KohaConnector(koha_settings())
    with pytest.raises(ConnectorProtocolError, match="token"):
        conn.authenticate("KOHA0001", "alice-pw")
    conn.close()


def test_basic_auth(koha_settings, koha):
    conn = KohaConnector(koha_settings(auth="basic"))
    assert conn.authenticate("KOHA0001", "alice-pw").name == "Alice Martin"
    assert conn.check().ok
    assert koha.tokens_issued == 0
    conn.close()


def test_wrong_basic_password_is_unavailable_not_the_patrons_fault(koha_settings):
    conn = KohaConnector(koha_settings(auth="basic", password="nope"))
    with pytest.raises(ConnectorUnavailable, match="credentials"):
        conn.authenticate("KOHA0001", "alice-pw")
    conn.close()


def test_missing_permission_is_unavailable(koha_settings, koha):
    koha.permissions = False
    conn = KohaConnector(koha_settings())
    with pytest.raises(ConnectorUnavailable, match="borrowers"):
        conn.authenticate("KOHA0001", "alice-pw")
    assert not conn.check().ok
    conn.close()


def test_the_movable_clock_example_of_the_docs_runs(koha_settings, koha):
    """docs/connectors.md: a connector reads its context's clock, which the test moves."""
    import re
    from pathlib import Path

    text = (Path(__file__).parents[3] / "docs" / "connectors.md").read_text(encoding="utf-8")
    body = text.split("`broker.testing.MovableClock` is a clock", 1)[1]
    example = re.search(r"```python\n(.*?)```", body, flags=re.S).group(1)
    namespace = {"KohaConnector": KohaConnector, "settings": koha_settings(), "card": "KOHA0001", "pin": "alice-pw"}
    exec(compile(example, "docs/connectors.md", "exec"), namespace)
    assert koha.tokens_issued == 2
    namespace["connector"].close()
