"""The Koha REST connector against a server that follows Koha's OpenAPI definitions."""

from __future__ import annotations

import logging
from datetime import date

import pytest
import requests

from broker.domain.connectors import (
    Connector,
    ConnectorProtocolError,
    InvalidCredentials,
    UnknownPatron,
)
from broker.domain.patrons import CardProblem
from connectors.koha import KohaConnector


@pytest.fixture
def connector(koha_settings):
    conn = KohaConnector(koha_settings())
    yield conn
    conn.close()


def test_it_is_a_connector(connector):
    assert isinstance(connector, Connector)


def test_valid_card_and_password(connector, koha):
    patron = connector.authenticate("KOHA0001", "alice-pw")
    assert patron.card == "KOHA0001"
    assert patron.name == "Alice Martin"
    assert patron.email == "alice@example.org"
    assert patron.birth_date == date(1985, 4, 12)
    assert patron.category == "ADULTE" and patron.home_branch == "CPL"
    assert patron.expires is not None and patron.expires > date.today()
    assert patron.card_problem(date.today()) is None
    assert patron.extra == {"koha_patron_id": "1"}
    assert ("POST", "/api/v1/auth/password/validation") in koha.requests
    assert ("GET", "/api/v1/patrons/1") in koha.requests


def test_wrong_password_is_refused(connector):
    with pytest.raises(InvalidCredentials) as caught:
        connector.authenticate("KOHA0001", "alice-PW")
    assert not isinstance(caught.value, UnknownPatron)


def test_unknown_card_is_told_apart_by_a_lookup(connector, koha):
    with pytest.raises(UnknownPatron):
        connector.authenticate("KOHA4242", "alice-pw")
    assert ("GET", "/api/v1/patrons") in koha.requests


def test_unknown_card_without_the_extra_lookup(koha_settings, koha):
    conn = KohaConnector(koha_settings(tell_unknown_cards=False))
    with pytest.raises(InvalidCredentials) as caught:
        conn.authenticate("KOHA4242", "alice-pw")
    assert not isinstance(caught.value, UnknownPatron)
    assert ("GET", "/api/v1/patrons") not in koha.requests
    conn.close()


def test_a_userid_is_not_a_card_number_unless_allowed(connector, koha_settings):
    with pytest.raises(InvalidCredentials, match="userid"):
        connector.authenticate("jdupont", "jd-pw")
    relaxed = KohaConnector(koha_settings(accept_userid=True))
    assert relaxed.authenticate("jdupont", "jd-pw").card == "KOHA00011"
    relaxed.close()


def test_expired_password_is_refused(connector):
    with pytest.raises(InvalidCredentials, match="expired"):
        connector.authenticate("KOHA0006", "old-pw")


def test_expired_restricted_and_lost_cards_are_reported(connector):
    today = date.today()
    assert connector.authenticate("KOHA0002", "bob-pw").card_problem(today) is CardProblem.EXPIRED
    restricted = connector.authenticate("KOHA0003", "carole-pw")
    assert restricted.blocked == "restricted" and restricted.card_problem(today) is CardProblem.BLOCKED
    lost = connector.authenticate("KOHA0004", "eve-pw")
    assert lost.lost and lost.card_problem(today) is CardProblem.LOST
    assert lost.category == "ENFANT" and lost.home_branch == "MPL" and lost.name == "Ève Durand"


@pytest.mark.parametrize("typed", ["koha0001", " KOHA 0001 ", "koha-0001"])
def test_card_is_normalised(connector, typed):
    assert connector.authenticate(typed, "alice-pw").name == "Alice Martin"


def test_the_record_keeps_kohas_spelling_of_the_card(connector):
    assert connector.authenticate("KOHA0007", "lower-pw").card == "koha0007"


@pytest.mark.parametrize("secret", ["", "x" * 2000])
def test_empty_or_huge_password_is_refused_locally(connector, koha, secret):
    with pytest.raises(InvalidCredentials):
        connector.authenticate("KOHA0001", secret)
    assert koha.requests == []


def test_lookup_is_exact_and_keeps_the_card_out_of_urls(connector, koha):
    patron = connector.lookup("koha0001")
    assert patron is not None and patron.name == "Alice Martin"
    assert connector.lookup("0001") is None
    assert connector.lookup("KOHA4242") is None
    assert connector.lookup("%") is None and connector.lookup("_OHA0001") is None
    assert koha.urls and not any("0001" in url or "4242" in url for url in koha.urls)


def test_why_not_the_cardnumber_parameter(koha, koha_settings):
    # Koha's cardnumber= filter defaults to _match=contains: KOHA0001 also finds KOHA00011.
    found = requests.get(f"{koha.url}/api/v1/patrons", params={"cardnumber": "KOHA0001"},
                         auth=("sesame", "api-pw-42"), timeout=2).json()
    assert sorted(p["cardnumber"] for p in found) == ["KOHA0001", "KOHA00011"]


def test_unreadable_date_is_a_protocol_error_with_the_raw_value(connector):
    with pytest.raises(ConnectorProtocolError) as caught:
        connector.authenticate("KOHA0098", "garbage-pw")
    assert caught.value.raw == "31/12/1990"


def test_check_reports_a_healthy_koha(connector):
    health = connector.check()
    assert health.ok, health.detail
    assert health.latency_ms is not None


def test_no_secret_or_full_card_in_logs(koha_settings, caplog):
    conn = KohaConnector(koha_settings())
    wrong = KohaConnector(koha_settings(client_secret="wrong-client-secret"))
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(InvalidCredentials):
            conn.authenticate("KOHA0001", "alice-secret-pw")
        with pytest.raises(UnknownPatron):
            conn.authenticate("KOHA4242", "alice-secret-pw")
        with pytest.raises(Exception):  # noqa: B017  (whatever the refusal, only the log matters here)
            wrong.authenticate("KOHA0001", "alice-secret-pw")
    assert caplog.records
    for forbidden in ("alice-secret-pw", "wrong-client-secret", "client-secret-42", "KOHA0001", "KOHA4242"):
        assert forbidden not in caplog.text
    conn.close()
    wrong.close()
