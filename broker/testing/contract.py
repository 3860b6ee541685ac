"""The connector contract: tests every connector must pass, reused by subclassing.

A connector author writes, in a test module::

    class TestMyConnector(ConnectorContract):
        known = KnownPatron("0001", "1234")  # a patron in good standing: card, secret
        wrong = "0000"                       # a secret that is not the known patron's
        unknown = "9999"                     # a card no patron has

        @pytest.fixture
        def connector(self): ...            # the connector, pointed at a test backend

The class attributes give the fixtures ``known_patron``, ``wrong_secret`` and
``unknown_card``; define those fixtures instead when the values come from
other fixtures. When the backend has them, give any of these too:
``problems`` (a KnownPatron list with the ``problem`` the SIGB must report:
expired, lost, blocked; or the fixture ``problem_patrons``), ``spec`` (the
plugin's ConnectorSpec; or the fixture ``connector_spec``) and the fixtures
``unreachable_connector`` (the same connector type pointed at an address
where nothing answers) and ``valid_settings`` (with the spec, to check the
settings model), in the class, the module or a conftest. Tests whose optional
fixture is missing are skipped. Optional fixtures are looked up by name, so
they cannot be parametrized: to run the contract on several backends, make
one subclass per backend.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from broker.domain.connectors import Connector, ConnectorSpec, ConnectorUnavailable, Health, InvalidCredentials
from broker.domain.patrons import CardProblem, PatronRecord, normalize_card

#: Card numbers no backend may accept, nor crash on: injections, oversize, control characters.
HOSTILE_CARDS = (
    "",
    "   ",
    "*)(uid=*",
    "*",
    "' OR '1'='1",
    "A" * 10_000,
    "12\r\n34",
    "12|AD0000|",
    "\x00\x01\x02",
    "é" * 300,
    "../../etc/passwd",
)
#: Secrets that must be refused for a known card, without a crash.
HOSTILE_SECRETS = ("", "x" * 10_000, "1234\r\n", "*", "' OR '1'='1", "\x00")


@dataclass(frozen=True, slots=True)
class KnownPatron:
    """A patron the test backend holds: card, secret, and the card problem the SIGB must report."""

    card: str
    secret: str = ""
    problem: CardProblem | None = None


def _optional(request: pytest.FixtureRequest, name: str) -> Any:
    try:
        return request.getfixturevalue(name)
    except pytest.FixtureLookupError:
        pytest.skip(f"fixture {name!r} not provided")


def _given(value: Any, attribute: str, fixture: str) -> Any:
    if value is None:
        pytest.fail(f"set the class attribute {attribute}, or define the fixture {fixture}")
    return value


def _same_card(a: str, b: str) -> bool:
    return normalize_card(a) == normalize_card(b)


class ConnectorContract:
    """Tests of the Connector protocol; subclass as ``TestSomething(ConnectorContract)``."""

    #: an unreachable backend must be reported within this many seconds
    unavailable_within: float = 10.0
    #: threads and calls per thread in the concurrency test
    concurrent_threads: int = 8
    calls_per_thread: int = 5
    #: the patron in good standing, a secret that is not theirs, a card no patron has
    known: KnownPatron | None = None
    wrong: str | None = None
    unknown: str | None = None
    #: patrons whose card has a problem the backend must report (none: the test is skipped)
    problems: Sequence[KnownPatron] = ()
    #: the plugin's spec, to check its settings model (None: the test is skipped)
    spec: ConnectorSpec | None = None

    @pytest.fixture
    def known_patron(self) -> KnownPatron:
        return _given(self.known, "known", "known_patron")

    @pytest.fixture
    def wrong_secret(self) -> str:
        return _given(self.wrong, "wrong", "wrong_secret")

    @pytest.fixture
    def unknown_card(self) -> str:
        return _given(self.unknown, "unknown", "unknown_card")

    @pytest.fixture
    def problem_patrons(self) -> list[KnownPatron]:
        return list(self.problems)

    @pytest.fixture
    def connector_spec(self) -> ConnectorSpec:
        if self.spec is None:
            pytest.skip("fixture 'connector_spec' not provided")
        return self.spec

    def test_implements_the_protocol(self, connector: Any) -> None:
        assert isinstance(connector, Connector)

    def test_authenticates_a_known_patron(self, connector: Connector, known_patron: KnownPatron) -> None:
        record = connector.authenticate(known_patron.card, known_patron.secret)
        assert isinstance(record, PatronRecord)
        assert _same_card(record.card, known_patron.card)
        assert record.card_problem(date.today()) is None

    def test_the_record_holds_no_secret(self, connector: Connector, known_patron: KnownPatron) -> None:
        record = connector.authenticate(known_patron.card, known_patron.secret)
        exposed = repr(record) + " ".join(f"{k}={v}" for k, v in record.extra.items())
        assert len(known_patron.secret) < 3 or known_patron.secret not in exposed

    def test_refuses_a_wrong_secret(
        self, connector: Connector, known_patron: KnownPatron, wrong_secret: str
    ) -> None:
        with pytest.raises(InvalidCredentials):
            connector.authenticate(known_patron.card, wrong_secret)

    def test_refuses_an_unknown_card(self, connector: Connector, unknown_card: str, known_patron: KnownPatron) -> None:
        with pytest.raises(InvalidCredentials):
            connector.authenticate(unknown_card, known_patron.secret)

    def test_refuses_an_empty_secret(self, connector: Connector, known_patron: KnownPatron) -> None:
        with pytest.raises(InvalidCredentials):
            connector.authenticate(known_patron.card, "")

    def test_looks_up_a_known_patron_without_secret(self, connector: Connector, known_patron: KnownPatron) -> None:
        record = connector.lookup(known_patron.card)
        assert isinstance(record, PatronRecord)
        assert _same_card(record.card, known_patron.card)

    def test_lookup_of_an_unknown_card_is_none(self, connector: Connector, unknown_card: str) -> None:
        assert connector.lookup(unknown_card) is None

    def test_reports_card_problems(self, connector: Connector, request: pytest.FixtureRequest) -> None:
        patrons: list[KnownPatron] = _optional(request, "problem_patrons")
        if not patrons:
            pytest.skip("no problem_patrons given")
        today = date.today()
        for patron in patrons:
            record = connector.authenticate(patron.card, patron.secret)
            assert record.card_problem(today) == patron.problem, patron.card

    def test_check_says_the_backend_answers(self, connector: Connector) -> None:
        health = connector.check()
        assert isinstance(health, Health)
        assert health.ok, health.detail

    @pytest.mark.parametrize("card", HOSTILE_CARDS, ids=lambda c: repr(c[:12]) + (f"…{len(c)}" if len(c) > 12 else ""))
    def test_hostile_cards_are_refused_cleanly(
        self, connector: Connector, known_patron: KnownPatron, card: str
    ) -> None:
        with pytest.raises(InvalidCredentials):
            connector.authenticate(card, known_patron.secret)
        assert connector.lookup(card) is None

    @pytest.mark.parametrize("secret", HOSTILE_SECRETS, ids=lambda s: repr(s[:12]))
    def test_hostile_secrets_are_refused_cleanly(
        self, connector: Connector, known_patron: KnownPatron, secret: str
    ) -> None:
        with pytest.raises(InvalidCredentials):
            connector.authenticate(known_patron.card, secret)

    def test_concurrent_authentications(self, connector: Connector, known_patron: KnownPatron) -> None:
        failures: list[BaseException] = []

        def work() -> None:
            try:
                for _ in range(self.calls_per_thread):
                    connector.authenticate(known_patron.card, known_patron.secret)
            except BaseException as exc:  # collected and reported below
                failures.append(exc)

        threads = [threading.Thread(target=work) for _ in range(self.concurrent_threads)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not failures, failures[:3]

    def test_unreachable_backend_is_unavailable_in_time(
        self, request: pytest.FixtureRequest, known_patron: KnownPatron
    ) -> None:
        dead = _optional(request, "unreachable_connector")
        started = time.monotonic()
        with pytest.raises(ConnectorUnavailable):
            dead.authenticate(known_patron.card, known_patron.secret)
        with pytest.raises(ConnectorUnavailable):
            dead.lookup(known_patron.card)
        health = dead.check()
        assert isinstance(health, Health) and not health.ok
        assert time.monotonic() - started < 3 * self.unavailable_within

    def test_settings_model_refuses_unknown_keys(self, request: pytest.FixtureRequest) -> None:
        spec: ConnectorSpec = _optional(request, "connector_spec")
        valid: dict[str, Any] = _optional(request, "valid_settings")
        model = spec.settings_model
        model.model_validate(valid)
        with pytest.raises(Exception) as refused:
            model.model_validate({**valid, "no_such_setting": 1})
        assert "no_such_setting" in str(refused.value)
