"""The LDAP connector passes the connector contract kit, in both authentication modes."""

from __future__ import annotations

import pytest

from broker.domain.patrons import CardProblem
from broker.testing import ConnectorContract, KnownPatron
from connectors.ldap import LdapConnector
from connectors.ldap.plugin import broker_connectors


class LdapContractBase(ConnectorContract):
    unavailable_within = 0.6
    settings_overrides: dict = {}
    secrets = {"BDP0001": "alice-pw", "BDP0002": "bob-pw", "BDP0003": "carole-pw", "BDP0005": "eve-pw"}
    spec = broker_connectors()[0]

    @pytest.fixture
    def connector(self, ldap_settings):
        conn = LdapConnector(ldap_settings(**self.settings_overrides))
        yield conn
        conn.close()

    @pytest.fixture
    def known_patron(self):
        return KnownPatron("BDP0001", self.secrets["BDP0001"])

    @pytest.fixture
    def wrong_secret(self):
        return "not-" + self.secrets["BDP0001"]

    @pytest.fixture
    def unknown_card(self):
        return "BDP4242"

    @pytest.fixture
    def problem_patrons(self):
        return [KnownPatron("BDP0002", self.secrets["BDP0002"], CardProblem.EXPIRED),
                KnownPatron("BDP0003", self.secrets["BDP0003"], CardProblem.BLOCKED),
                KnownPatron("BDP0005", self.secrets["BDP0005"], CardProblem.LOST)]

    #: "refused" (nothing listens) or "silent" (accepts, never answers); the kit asks for
    #: this fixture by name, so it cannot be parametrized: each class picks one.
    unreachable = "refused"
    scheme = "ldap"

    @pytest.fixture
    def unreachable_connector(self, ldap_settings, refused_port, black_hole):
        port = refused_port if self.unreachable == "refused" else black_hole.port
        conn = LdapConnector(ldap_settings(url=f"{self.scheme}://127.0.0.1:{port}",
                                           timeout=self.unavailable_within / 2, **self.settings_overrides))
        yield conn
        conn.close()

    @pytest.fixture
    def valid_settings(self, ldap_settings):
        return ldap_settings(**self.settings_overrides).model_dump(mode="json") | {
            "bind_password": "service-secret"}


class TestLdapBindContract(LdapContractBase):
    pass


class TestLdapCompareContract(LdapContractBase):
    settings_overrides = {"auth_mode": "compare", "pin_attribute": "libraryPin"}
    unreachable = "silent"
    secrets = {"BDP0001": "1234", "BDP0002": "2222", "BDP0003": "3333", "BDP0005": "5555"}


class TestLdapsContract(LdapContractBase):
    """Over LDAPS, where the pool opens connections in a helper thread."""

    unreachable = "silent"
    scheme = "ldaps"

    @pytest.fixture
    def connector(self, ldap_settings, slapd):
        conn = LdapConnector(ldap_settings(url=slapd.tls_url, ca_file=str(slapd.ca_file)))
        yield conn
        conn.close()
