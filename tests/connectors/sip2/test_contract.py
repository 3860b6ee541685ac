"""The SIP2 connector passes the connector contract kit, against Koha-like and Evergreen-like emulators."""

from __future__ import annotations

import pytest

from broker.domain.patrons import CardProblem
from broker.testing import ConnectorContract, KnownPatron, free_port
from broker.testing.sip2 import sip2_settings
from connectors.sip2.connector import Sip2Connector, Sip2Settings
from connectors.sip2.plugin import broker_connectors


class Sip2Fixtures:
    flavour = "koha"
    unavailable_within = 1.0
    known = KnownPatron("23000000000001", "1234")
    wrong = "0000"
    unknown = "99999999999999"
    problems = [
        KnownPatron("23000000000002", "2222", CardProblem.EXPIRED),
        KnownPatron("23000000000003", "3333", CardProblem.LOST),
        KnownPatron("23000000000004", "4444", CardProblem.BLOCKED),
    ]
    spec = broker_connectors()[0]

    @pytest.fixture
    def emulator(self, request):
        return request.getfixturevalue(self.flavour)

    @pytest.fixture
    def connector(self, emulator):
        connector = Sip2Connector(Sip2Settings.model_validate(sip2_settings(emulator)))
        yield connector
        connector.close()

    @pytest.fixture
    def unreachable_connector(self, emulator):
        return Sip2Connector(Sip2Settings.model_validate(sip2_settings(emulator, port=free_port(), timeout=1.0)))

    @pytest.fixture
    def valid_settings(self, emulator):
        return sip2_settings(emulator)


class TestSip2KohaContract(Sip2Fixtures, ConnectorContract):
    flavour = "koha"


class TestSip2EvergreenContract(Sip2Fixtures, ConnectorContract):
    flavour = "evergreen"
