"""The Koha REST connector passes the connector contract kit, with either API authentication."""

from __future__ import annotations

import socket

import pytest

from broker.domain.patrons import CardProblem
from broker.testing import ConnectorContract, KnownPatron
from connectors.koha import KohaConnector
from connectors.koha.plugin import broker_connectors


class KohaContractBase(ConnectorContract):
    unavailable_within = 0.6
    settings_overrides: dict = {}
    #: "refused" (nothing listens) or "silent" (accepts, never answers)
    unreachable = "refused"
    known = KnownPatron("KOHA0001", "alice-pw")
    wrong = "alice-PW"
    unknown = "KOHA4242"
    problems = [KnownPatron("KOHA0002", "bob-pw", CardProblem.EXPIRED),
                KnownPatron("KOHA0003", "carole-pw", CardProblem.BLOCKED),
                KnownPatron("KOHA0004", "eve-pw", CardProblem.LOST)]
    spec = broker_connectors()[0]

    @pytest.fixture
    def connector(self, koha_settings):
        conn = KohaConnector(koha_settings(**self.settings_overrides))
        yield conn
        conn.close()

    @pytest.fixture
    def unreachable_connector(self, koha_settings, dead_port):
        with socket.socket() as silent:  # listens, never accepts
            silent.bind(("127.0.0.1", 0))
            silent.listen(16)
            port = dead_port if self.unreachable == "refused" else silent.getsockname()[1]
            conn = KohaConnector(koha_settings(base_url=f"http://127.0.0.1:{port}",
                                               timeout=self.unavailable_within / 2, **self.settings_overrides))
            yield conn
            conn.close()

    @pytest.fixture
    def valid_settings(self, koha):
        if self.settings_overrides.get("auth") == "basic":
            return {"base_url": koha.url, "auth": "basic", "username": "sesame", "password": "api-pw-42"}
        return {"base_url": koha.url, "client_id": "sesame-client", "client_secret": "client-secret-42"}


class TestKohaOAuth2Contract(KohaContractBase):
    pass


class TestKohaBasicAuthContract(KohaContractBase):
    settings_overrides = {"auth": "basic"}
    unreachable = "silent"
