"""Fixtures of the mail tests: a certificate authority made for the session, SMTP servers stopped after each test."""

from __future__ import annotations

import pytest

from broker.testing.tls import make_pki
from fixtures.servers import free_port
from mail.smtpkit import Clock, SmtpServer


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"), ca_name="Sésame test mail CA")


@pytest.fixture
def smtp_server(pki):
    """``smtp_server(mode=..., port=..., auth=...)`` starts a server (on a free port unless given); all stop at the end."""
    servers = []

    def start(*, port: int | None = None, **kwargs) -> SmtpServer:
        server = SmtpServer(port or free_port(), pki=pki, **kwargs).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def clock():
    return Clock()
