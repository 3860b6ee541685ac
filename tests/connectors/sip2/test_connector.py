"""The SIP2 connector against the emulator: what each answer becomes for Sésame."""

from __future__ import annotations

from datetime import date

import pytest

from broker.domain.connectors import ConnectorProtocolError, ConnectorUnavailable, InvalidCredentials, UnknownPatron
from broker.domain.patrons import CardProblem
from broker.testing.sip2 import running_emulator

GOOD = ("23000000000001", "1234")
EXPIRED = ("23000000000002", "2222")
LOST = ("23000000000003", "3333")
BLOCKED = ("23000000000004", "4444")
CHILD = ("23000000000005", "5555")
LETTERS = ("ABC123", "motdepasse")
TODAY = date.today()


def test_right_pin_gives_the_patron(koha, connect) -> None:
    record = connect(koha).authenticate(*GOOD)
    assert record.card == GOOD[0]
    assert record.name == "Élodie Martin"
    assert record.email == "elodie.martin@example.org"
    assert record.birth_date == date(1990, 4, 2)
    assert record.category == "ADULTE"
    assert record.expires == date(2099, 12, 31)
    assert record.card_problem(TODAY) is None


def test_wrong_pin_is_invalid_credentials(koha, connect) -> None:
    with pytest.raises(InvalidCredentials) as refused:
        connect(koha).authenticate(GOOD[0], "0000")
    assert not isinstance(refused.value, UnknownPatron)


def test_unknown_card_is_unknown_patron_on_koha(koha, connect) -> None:
    with pytest.raises(UnknownPatron):
        connect(koha).authenticate("99999999", "0000")


def test_evergreen_unknown_card_and_wrong_pin_are_both_invalid_credentials(evergreen, connect) -> None:
    connector = connect(evergreen)
    reasons = set()
    for card, pin in (("99999999", "0000"), (GOOD[0], "0000")):
        with pytest.raises(InvalidCredentials) as refused:
            connector.authenticate(card, pin)
        reasons.add((type(refused.value), str(refused.value)))
    assert reasons == {(InvalidCredentials, next(iter(reasons))[1])}


def test_evergreen_right_pin_reads_expiry_from_pa(evergreen, connect) -> None:
    record = connect(evergreen).authenticate(*GOOD)
    assert record.expires == date(2099, 12, 31) and record.birth_date == date(1990, 4, 2)
    assert connect(evergreen).authenticate(*EXPIRED).card_problem(TODAY) is CardProblem.EXPIRED


@pytest.mark.parametrize("flavour", ["koha", "evergreen"])
@pytest.mark.parametrize(
    "patron, problem",
    [(EXPIRED, CardProblem.EXPIRED), (LOST, CardProblem.LOST), (BLOCKED, CardProblem.BLOCKED), (CHILD, None)],
)
def test_card_problems_are_reported(flavour, patron, problem, request, connect) -> None:
    record = connect(request.getfixturevalue(flavour)).authenticate(*patron)
    assert record.card_problem(TODAY) is problem


def test_blocked_reason_is_the_sigb_screen_message(koha, connect) -> None:
    record = connect(koha).authenticate(*BLOCKED)
    assert record.blocked == "Amendes impayées" and not record.lost
    assert "charge_denied" in record.extra["sip2_status"]


def test_expired_card_is_expired_not_blocked(koha, connect) -> None:
    record = connect(koha).authenticate(*EXPIRED)
    assert record.blocked is None and record.expires < TODAY


def test_expiry_field_can_be_switched_off_or_moved(patrons_csv, connect) -> None:
    with running_emulator(patrons_csv, koha_expiry_field="XE") as koha_xe:
        assert connect(koha_xe).authenticate(*GOOD).expires is None
        assert connect(koha_xe, expiry_field="XE").authenticate(*GOOD).expires == date(2099, 12, 31)
        assert connect(koha_xe, expiry_field="").authenticate(*GOOD).expires is None


def test_unreadable_expiry_is_a_protocol_error(patrons_csv, connect) -> None:
    with running_emulator(patrons_csv, koha_expiry_field="AE") as odd:
        with pytest.raises(ConnectorProtocolError, match="AE"):
            connect(odd, expiry_field="AE").authenticate(*GOOD)


def test_lookup_without_secret(koha, evergreen, connect) -> None:
    for emulator in (koha, evergreen):
        connector = connect(emulator)
        assert connector.lookup(GOOD[0]).name == "Élodie Martin"
        assert connector.lookup("99999999") is None


def test_lookup_with_patron_status_message(koha, evergreen, connect) -> None:
    for emulator in (koha, evergreen):
        connector = connect(emulator, lookup_message="23")
        assert connector.lookup(GOOD[0]).name == "Élodie Martin"
        assert connector.lookup(LOST[0]).lost
        assert connector.lookup("99999999") is None


@pytest.mark.parametrize("typed", ["abc123", " abc 123 ", "ABC-123"])
def test_cards_are_normalized_per_library_setting(koha, connect, typed) -> None:
    assert connect(koha).authenticate(typed, LETTERS[1]).card == "ABC123"


def test_card_case_keep_sends_the_card_as_typed(koha, connect) -> None:
    with pytest.raises(UnknownPatron):
        connect(koha, card_case="keep").authenticate("abc123", LETTERS[1])


@pytest.mark.parametrize("error_detection", [True, False])
@pytest.mark.parametrize("terminator", ["CR", "CRLF"])
def test_checksums_and_terminators(koha, connect, error_detection, terminator) -> None:
    connector = connect(koha, error_detection=error_detection, terminator=terminator)
    for _ in range(12):  # past the sequence number's wrap at 9
        assert connector.authenticate(*GOOD).name == "Élodie Martin"
    with pytest.raises(InvalidCredentials):
        connector.authenticate(GOOD[0], "0000")
    assert connector.check().ok


@pytest.mark.parametrize("encoding", ["utf-8", "cp850", "latin-1"])
def test_encodings_carry_accented_names(patrons_csv, connect, encoding) -> None:
    with running_emulator(patrons_csv, encoding=encoding) as emulator:
        connector = connect(emulator, encoding=encoding)
        assert connector.authenticate(*CHILD).name == "Françoise Noël"


def test_bytes_invalid_in_the_configured_encoding_are_a_protocol_error(patrons_csv, connect) -> None:
    with running_emulator(patrons_csv, encoding="latin-1") as latin:
        with pytest.raises(ConnectorProtocolError) as refused:
            connect(latin, encoding="utf-8").authenticate(*GOOD)
        assert "utf-8" in str(refused.value)
        assert refused.value.raw and "\\xc9lodie" in refused.value.raw
        assert GOOD[0] not in refused.value.raw  # the card is masked


def test_secret_the_encoding_cannot_carry_is_refused_without_a_call(koha, connect) -> None:
    connector = connect(koha, encoding="cp850")
    with pytest.raises(InvalidCredentials):
        connector.authenticate(GOOD[0], "pin€")
    assert connector.pool.logins == 0


def test_oversized_card_and_secret_are_refused_before_the_network(koha, connect) -> None:
    connector = connect(koha)
    with pytest.raises(UnknownPatron):
        connector.authenticate("1" * 256, "1234")
    with pytest.raises(InvalidCredentials):
        connector.authenticate(GOOD[0], "1" * 256)
    assert connector.lookup("1" * 256) is None
    assert connector.pool.logins == 0


def test_check_reports_online_status(koha, connect) -> None:
    health = connect(koha).check()
    assert health.ok and "2.00" in health.detail and health.latency_ms is not None


def test_wrong_sip_login_is_unavailable_not_credentials(koha, connect) -> None:
    connector = connect(koha, password="not-the-password")
    with pytest.raises(ConnectorUnavailable, match="refused the login"):
        connector.authenticate(*GOOD)
    health = connector.check()
    assert not health.ok and "login" in health.detail


def test_one_round_trip_per_authentication_after_login(koha, connect) -> None:
    connector = connect(koha)
    before = koha.stats.requests
    for _ in range(5):
        connector.authenticate(*GOOD)
    assert koha.stats.requests - before == 6  # one login, then one 63 each
