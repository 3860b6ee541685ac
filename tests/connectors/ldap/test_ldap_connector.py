"""The LDAP connector against a real slapd: binds, compares, searches and what it makes of entries."""

from __future__ import annotations

import logging
import threading
from datetime import date

import pytest

from broker.domain.connectors import (
    Connector,
    ConnectorProtocolError,
    ConnectorUnavailable,
    InvalidCredentials,
    UnknownPatron,
)
from broker.domain.patrons import CardProblem
from connectors.ldap import LdapConnector


@pytest.fixture
def connector(ldap_settings):
    conn = LdapConnector(ldap_settings())
    yield conn
    conn.close()


@pytest.fixture
def pin_connector(ldap_settings):
    conn = LdapConnector(ldap_settings(auth_mode="compare", pin_attribute="libraryPin"))
    yield conn
    conn.close()


def test_it_is_a_connector(connector):
    assert isinstance(connector, Connector)


def test_check_reports_a_healthy_directory(connector):
    health = connector.check()
    assert health.ok, health.detail
    assert health.latency_ms is not None and health.latency_ms < 1000


def test_bind_mode_returns_the_mapped_record(connector):
    patron = connector.authenticate("BDP0001", "alice-pw")
    assert patron.card == "BDP0001"
    assert patron.name == "Alice Martin"
    assert patron.email == "alice@example.org"
    assert patron.birth_date == date(1985, 4, 12)
    assert patron.category == "ADULTE"
    assert patron.home_branch == "FR-CAEN"
    assert patron.expires is not None and patron.expires > date.today()
    assert patron.blocked is None and not patron.lost
    assert patron.card_problem(date.today()) is None


def test_wrong_password_is_refused_as_credentials_not_unknown(connector):
    with pytest.raises(InvalidCredentials) as caught:
        connector.authenticate("BDP0001", "alice-PW")
    assert not isinstance(caught.value, UnknownPatron)


def test_unknown_card_is_told_apart(connector):
    with pytest.raises(UnknownPatron):
        connector.authenticate("BDP4242", "whatever")


@pytest.mark.parametrize("secret", ["", "x" * 5000])
def test_empty_or_huge_password_never_reaches_the_directory(connector, secret):
    # An empty simple bind is an anonymous bind, which the directory accepts.
    with pytest.raises(InvalidCredentials):
        connector.authenticate("BDP0001", secret)


@pytest.mark.parametrize("card", [
    "*", "*)(uid=*", "*)(uid=alice", "*)(|(uid=*", "BDP000*", "BDP0001)(cn=*", "\\2a", "BDP\x000001",
    "(", ")", "BDP0001\\",
])
def test_filter_injection_matches_nobody(connector, card):
    with pytest.raises(UnknownPatron):
        connector.authenticate(card, "alice-pw")
    assert connector.lookup(card) is None


def test_injection_cannot_reach_a_known_patron_through_another_attribute(connector):
    # Unescaped, this would give (&(objectClass=sesamePatron)(libraryCardNumber=*)(uid=alice))
    # and log alice in with her own password under a card that is not hers.
    with pytest.raises(UnknownPatron):
        connector.authenticate("*)(uid=alice", "alice-pw")


@pytest.mark.parametrize("typed", [" bdp 0001 ", "bdp0001", "BDP-0001", "b d p 0 0 0 1"])
def test_card_is_normalised_before_searching(connector, typed):
    assert connector.authenticate(typed, "alice-pw").name == "Alice Martin"


def test_record_card_is_the_directory_form_when_mapped(connector):
    assert connector.authenticate("BDP 0007", "gina-pw").card == "bdp0007"


def test_record_card_is_the_normalised_card_when_not_mapped(ldap_settings):
    settings = ldap_settings(card_case="lower", attributes={"name": "cn", "email": "mail"})
    conn = LdapConnector(settings)
    try:
        patron = conn.authenticate(" BDP 0001", "alice-pw")
    finally:
        conn.close()
    assert patron.card == "bdp0001"
    assert patron.name == "Alice Martin" and patron.expires is None


def test_expired_blocked_and_lost_cards_are_reported_not_refused(connector):
    today = date.today()
    expired = connector.authenticate("BDP0002", "bob-pw")
    assert expired.card_problem(today) is CardProblem.EXPIRED
    blocked = connector.authenticate("BDP0003", "carole-pw")
    assert blocked.blocked == "Amendes impayées"
    assert blocked.card_problem(today) is CardProblem.BLOCKED
    lost = connector.authenticate("BDP0005", "eve-pw")
    assert lost.lost and lost.card_problem(today) is CardProblem.LOST
    assert lost.birth_date == date(2015, 3, 1)  # written YYYYMMDD in this entry


def test_two_entries_for_one_card_is_a_directory_error(connector):
    with pytest.raises(ConnectorProtocolError, match="several"):
        connector.authenticate("BDP0099", "twin-pw")


def test_unreadable_date_is_a_protocol_error_with_the_raw_value(connector):
    with pytest.raises(ConnectorProtocolError) as caught:
        connector.authenticate("BDP0098", "franck-pw")
    assert caught.value.raw == "31/12/1990"


def test_compare_mode_accepts_the_pin(pin_connector):
    assert pin_connector.authenticate("BDP0001", "1234").name == "Alice Martin"


@pytest.mark.parametrize("card, secret", [
    ("BDP0001", "1235"),        # wrong PIN
    ("BDP0001", "alice-pw"),    # the password is not the PIN
    ("BDP0004", "anything"),    # entry without a PIN
])
def test_compare_mode_refuses(pin_connector, card, secret):
    with pytest.raises(InvalidCredentials) as caught:
        pin_connector.authenticate(card, secret)
    assert not isinstance(caught.value, UnknownPatron)


def test_compare_mode_unknown_card(pin_connector):
    with pytest.raises(UnknownPatron):
        pin_connector.authenticate("BDP4242", "1234")


@pytest.mark.parametrize("attribute, message", [
    ("noSuchAttribute", "unknown to the directory"),
    ("userPassword", "may not compare"),
])
def test_compare_mode_misconfiguration_is_unavailable_not_credentials(ldap_settings, attribute, message):
    conn = LdapConnector(ldap_settings(auth_mode="compare", pin_attribute=attribute))
    with pytest.raises(ConnectorUnavailable, match=message):
        conn.authenticate("BDP0001", "1234")
    conn.close()


def test_lookup_finds_without_secret_and_returns_none_when_unknown(connector):
    patron = connector.lookup("bdp 0003")
    assert patron is not None and patron.name == "Carole Petit"
    assert connector.lookup("BDP4242") is None
    assert connector.lookup("   ") is None


def test_wrong_service_password_is_unavailable(ldap_settings):
    conn = LdapConnector(ldap_settings(bind_password="nope"))
    with pytest.raises(ConnectorUnavailable, match="service account"):
        conn.authenticate("BDP0001", "alice-pw")
    health = conn.check()
    assert not health.ok and "service account" in health.detail


def test_missing_base_dn_is_unavailable(ldap_settings):
    conn = LdapConnector(ldap_settings(base_dn="ou=nobody,dc=sesame,dc=test"))
    with pytest.raises(ConnectorUnavailable, match="base_dn"):
        conn.lookup("BDP0001")
    assert not conn.check().ok


def test_patron_binds_never_lend_their_identity_to_searches(ldap_settings):
    # One connection per pool: if a connection bound as alice were reused for a
    # search, the ACLs would hide carole and the lookup would come back empty.
    conn = LdapConnector(ldap_settings(pool_size=1))
    for _ in range(3):
        conn.authenticate("BDP0001", "alice-pw")
        assert conn.lookup("BDP0003") is not None
    conn.close()


def test_concurrent_logins(ldap_settings):
    conn = LdapConnector(ldap_settings(pool_size=4))
    results: list[object] = []

    def login(i: int) -> None:
        try:
            if i % 3 == 0:
                conn.authenticate("BDP0001", "wrong")
            results.append(conn.authenticate("BDP0001", "alice-pw").name)
        except InvalidCredentials:
            results.append("refused")
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            results.append(exc)

    threads = [threading.Thread(target=login, args=(i,)) for i in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(set(map(str, results))) == ["Alice Martin", "refused"]
    assert conn._service.idle_count <= 4 and conn._binder.idle_count <= 4
    conn.close()


def test_no_secret_or_full_card_in_logs(ldap_settings, caplog):
    conn = LdapConnector(ldap_settings(bind_password="wrong-service-secret"))
    good = LdapConnector(ldap_settings())
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(ConnectorUnavailable):
            conn.authenticate("BDP0001", "alice-secret-pw")
        with pytest.raises(InvalidCredentials):
            good.authenticate("BDP0001", "alice-secret-pw")
        with pytest.raises(UnknownPatron):
            good.authenticate("BDP4242", "alice-secret-pw")
    text = caplog.text
    assert caplog.records
    for forbidden in ("alice-secret-pw", "wrong-service-secret", "BDP0001", "BDP4242"):
        assert forbidden not in text
    good.close()
