"""The LDAP connector on the wire: LDAPS, StartTLS, timeouts, refused ports, reconnection."""

from __future__ import annotations

import time

import pytest

from broker.domain.connectors import ConnectorUnavailable
from connectors.ldap import LdapConnector

TIMEOUT = 0.3
SLACK = 0.5  # thread start-up and scheduling on a busy machine


def test_ldaps_with_the_directory_ca(ldap_settings, slapd):
    conn = LdapConnector(ldap_settings(url=slapd.tls_url, ca_file=str(slapd.ca_file)))
    assert conn.check().ok
    assert conn.authenticate("BDP0001", "alice-pw").name == "Alice Martin"
    conn.close()


def test_start_tls_with_the_directory_ca(ldap_settings, slapd):
    conn = LdapConnector(ldap_settings(start_tls=True, ca_file=str(slapd.ca_file),
                                       auth_mode="compare", pin_attribute="libraryPin"))
    assert conn.authenticate("BDP0001", "1234").name == "Alice Martin"
    conn.close()


@pytest.mark.parametrize("tls", ["ldaps", "start_tls"])
def test_untrusted_certificate_is_refused(ldap_settings, slapd, tls):
    overrides = {"url": slapd.tls_url} if tls == "ldaps" else {"start_tls": True}
    conn = LdapConnector(ldap_settings(**overrides))
    with pytest.raises(ConnectorUnavailable):
        conn.authenticate("BDP0001", "alice-pw")
    health = conn.check()
    assert not health.ok


def test_certificate_check_can_be_turned_off(ldap_settings, slapd):
    conn = LdapConnector(ldap_settings(url=slapd.tls_url, tls_verify=False))
    assert conn.check().ok
    conn.close()


@pytest.mark.parametrize("scheme", ["ldap", "ldaps", "start_tls"])
def test_silent_server_times_out(ldap_settings, black_hole, scheme):
    url = f"{'ldaps' if scheme == 'ldaps' else 'ldap'}://127.0.0.1:{black_hole.port}"
    conn = LdapConnector(ldap_settings(url=url, start_tls=scheme == "start_tls", timeout=TIMEOUT))
    for call in (lambda: conn.authenticate("BDP0001", "alice-pw"), lambda: conn.lookup("BDP0001")):
        started = time.monotonic()
        with pytest.raises(ConnectorUnavailable):
            call()
        assert time.monotonic() - started < TIMEOUT + SLACK
    started = time.monotonic()
    assert not conn.check().ok
    assert time.monotonic() - started < TIMEOUT + SLACK


def test_stalled_tls_handshakes_are_capped(ldap_settings, black_hole):
    conn = LdapConnector(ldap_settings(url=f"ldaps://127.0.0.1:{black_hole.port}", timeout=0.2, pool_size=2))
    for _ in range(2):
        with pytest.raises(ConnectorUnavailable, match="did not finish in time"):
            conn.lookup("BDP0001")
    started = time.monotonic()
    with pytest.raises(ConnectorUnavailable, match="still stalled"):
        conn.lookup("BDP0001")
    assert time.monotonic() - started < 0.1


def test_refused_port_fails_at_once(ldap_settings, refused_port):
    conn = LdapConnector(ldap_settings(url=f"ldap://127.0.0.1:{refused_port}"))
    started = time.monotonic()
    with pytest.raises(ConnectorUnavailable, match="Can't contact"):
        conn.authenticate("BDP0001", "alice-pw")
    assert time.monotonic() - started < 0.5
    assert not conn.check().ok


def test_reconnects_after_the_directory_restarts(ldap_settings, slapd):
    conn = LdapConnector(ldap_settings(pool_size=1))
    assert conn.authenticate("BDP0001", "alice-pw")
    slapd.stop()
    try:
        with pytest.raises(ConnectorUnavailable):
            conn.authenticate("BDP0001", "alice-pw")
    finally:
        slapd.start()
    assert conn.authenticate("BDP0001", "alice-pw").name == "Alice Martin"
    # Kept connections die with the server; the next call notices and reconnects.
    slapd.stop()
    slapd.start()
    assert conn.authenticate("BDP0001", "alice-pw").name == "Alice Martin"
    assert conn.lookup("BDP0003") is not None
    conn.close()
