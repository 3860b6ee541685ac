"""SIP2 over TLS: a verified certificate works, an unknown one is refused as unavailable."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from broker.domain.connectors import ConnectorUnavailable
from broker.testing.sip2 import running_emulator

GOOD = ("23000000000001", "1234")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@pytest.fixture(scope="module")
def tls_emulator(patrons_csv, certificate):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    with running_emulator(patrons_csv, ssl_context=context) as emulator:
        yield emulator


def test_tls_with_the_server_certificate_trusted(tls_emulator, certificate, connect) -> None:
    connector = connect(tls_emulator, tls=True, tls_ca_file=str(certificate[0]))
    assert connector.authenticate(*GOOD).name == "Élodie Martin"
    assert connector.check().ok


def test_tls_with_an_untrusted_certificate_is_unavailable(tls_emulator, connect) -> None:
    connector = connect(tls_emulator, tls=True)
    with pytest.raises(ConnectorUnavailable, match="TLS"):
        connector.authenticate(*GOOD)


def test_tls_verification_can_be_switched_off(tls_emulator, connect) -> None:
    assert connect(tls_emulator, tls=True, tls_verify=False).authenticate(*GOOD).card == GOOD[0]


def test_plain_client_against_tls_server_fails_in_time(tls_emulator, connect) -> None:
    with pytest.raises(ConnectorUnavailable):
        connect(tls_emulator, timeout=0.5).authenticate(*GOOD)
