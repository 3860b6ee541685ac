"""A real OpenLDAP ``slapd`` with a test directory of patrons, started once per session.

slapd runs from a temporary directory with a ``slapd.conf`` (``-f``), an MDB
database filled offline with ``slapadd``, a self-signed CA and server
certificate for LDAPS and StartTLS, and ACLs like a library's: the service
account reads patrons and may only *compare* the PIN attribute.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from broker.testing.net import free_port
from broker.testing.tls import make_pki
from connectors.ldap import LdapSettings

SLAPD = "/usr/sbin/slapd"
SLAPADD = "/usr/sbin/slapadd"
HERE = Path(__file__).parent
BASE_DN = "dc=sesame,dc=test"
PEOPLE = f"ou=people,{BASE_DN}"
SERVICE_DN = f"cn=sesame,ou=services,{BASE_DN}"
SERVICE_PASSWORD = "service-secret"

pytestmark = pytest.mark.skipif(not os.path.exists(SLAPD), reason="slapd is not installed")


@dataclass(frozen=True)
class Patron:
    """One patron of the test directory and what the connector should say about them."""

    uid: str
    card: str
    password: str | None
    pin: str | None
    name: str
    extra: dict[str, str]


def _patrons(today: date) -> list[Patron]:
    next_year = (today + timedelta(days=365)).strftime("%Y%m%d000000Z")
    yesterday = (today - timedelta(days=1)).strftime("%Y%m%d235959Z")
    return [
        Patron("alice", "BDP0001", "alice-pw", "1234", "Alice Martin", {
            "mail": "alice@example.org", "patronBirthDate": "1985-04-12", "cardExpires": next_year,
            "patronCategory": "ADULTE", "homeBranch": "FR-CAEN"}),
        Patron("bob", "BDP0002", "bob-pw", "2222", "Bob Leroy", {
            "cardExpires": yesterday, "patronCategory": "ADULTE"}),
        Patron("carole", "BDP0003", "carole-pw", "3333", "Carole Petit", {
            "cardExpires": next_year, "cardBlocked": "Amendes impayées"}),
        Patron("david", "BDP0004", "david-pw", None, "David Roux", {"cardExpires": next_year}),
        Patron("eve", "BDP0005", "eve-pw", "5555", "Ève Durand", {
            "cardExpires": next_year, "cardLost": "TRUE", "patronBirthDate": "20150301"}),
        Patron("twin1", "BDP0099", "twin-pw", "9999", "Jumeau Un", {}),
        Patron("twin2", "BDP0099", "twin-pw", "9999", "Jumeau Deux", {}),
        Patron("franck", "BDP0098", "franck-pw", "9898", "Franck Garbage", {"patronBirthDate": "31/12/1990"}),
        Patron("gina", "bdp0007", "gina-pw", "7777", "Gina Lowercase", {"cardExpires": next_year}),
    ]


def _ssha(secret: str) -> str:
    salt = os.urandom(8)
    digest = hashlib.sha1(secret.encode() + salt).digest()
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


def _b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def _ldif(patrons: list[Patron]) -> str:
    blocks = [
        f"dn: {BASE_DN}\nobjectClass: dcObject\nobjectClass: organization\no: Sesame test\ndc: sesame\n",
        f"dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people\n",
        f"dn: ou=services,{BASE_DN}\nobjectClass: organizationalUnit\nou: services\n",
        f"dn: {SERVICE_DN}\nobjectClass: applicationProcess\nobjectClass: simpleSecurityObject\n"
        f"cn: sesame\nuserPassword: {_ssha(SERVICE_PASSWORD)}\n",
    ]
    for p in patrons:
        first, _, last = p.name.partition(" ")
        lines = [f"dn: uid={p.uid},{PEOPLE}", "objectClass: inetOrgPerson", "objectClass: sesamePatron",
                 f"uid: {p.uid}", f"cn:: {_b64(p.name)}", f"sn:: {_b64(last or first)}",
                 f"displayName:: {_b64(p.name)}", f"libraryCardNumber: {p.card}"]
        if p.password:
            lines.append(f"userPassword: {_ssha(p.password)}")
        if p.pin:
            lines.append(f"libraryPin: {p.pin}")
        lines += [f"{k}:: {_b64(v)}" for k, v in p.extra.items()]
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


def _slapd_conf(root: Path, certs: dict[str, Path]) -> str:
    return f"""
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include {HERE / 'sesame-test.schema'}
pidfile {root / 'slapd.pid'}
argsfile {root / 'slapd.args'}
modulepath /usr/lib/ldap
moduleload back_mdb
loglevel none
TLSCACertificateFile {certs['ca']}
TLSCertificateFile {certs['cert']}
TLSCertificateKeyFile {certs['key']}

database mdb
maxsize 33554432
suffix "{BASE_DN}"
rootdn "cn=admin,{BASE_DN}"
directory {root / 'db'}
index objectClass eq
index uid,libraryCardNumber eq

access to attrs=userPassword
    by anonymous auth
    by * none
access to attrs=libraryPin
    by dn.exact="{SERVICE_DN}" compare
    by * none
access to *
    by dn.exact="{SERVICE_DN}" read
    by anonymous auth
    by * none
"""


def _wait_for_port(port: int, proc: subprocess.Popen, deadline: float = 10.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"slapd exited with {proc.returncode}: {proc.stderr.read().decode()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"slapd did not listen on {port}")


@dataclass
class Slapd:
    """A running slapd: where it listens and how to restart it."""

    root: Path
    port: int
    tls_port: int
    ca_file: Path
    patrons: list[Patron]
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def tls_url(self) -> str:
        return f"ldaps://127.0.0.1:{self.tls_port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [SLAPD, "-f", str(self.root / "slapd.conf"), "-d", "0",
             "-h", f"ldap://127.0.0.1:{self.port}/ ldaps://127.0.0.1:{self.tls_port}/"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _wait_for_port(self.port, self.proc)
        _wait_for_port(self.tls_port, self.proc)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc and self.proc.stderr:
            self.proc.stderr.close()
        self.proc = None


def start_slapd(root: Path) -> Slapd:
    """Build the configuration and the database under ``root`` and start slapd."""
    patrons = _patrons(date.today())
    pki = make_pki(root)
    certs = {"ca": pki.ca_file, "cert": pki.cert_file, "key": pki.key_file}
    (root / "db").mkdir()
    (root / "slapd.conf").write_text(_slapd_conf(root, certs))
    (root / "data.ldif").write_text(_ldif(patrons), encoding="utf-8")
    subprocess.run([SLAPADD, "-q", "-f", str(root / "slapd.conf"), "-l", str(root / "data.ldif")],
                   check=True, capture_output=True, timeout=30)
    server = Slapd(root, free_port(), free_port(), certs["ca"], patrons)
    server.start()
    return server


@pytest.fixture(scope="session")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    root = tmp_path_factory.mktemp("slapd")
    server = start_slapd(root)
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


ATTRIBUTES = {
    "card": "libraryCardNumber", "name": ["displayName", "cn"], "email": "mail",
    "birth_date": "patronBirthDate", "category": "patronCategory", "expires": "cardExpires",
    "blocked": "cardBlocked", "lost": "cardLost", "home_branch": "homeBranch",
}


@pytest.fixture
def ldap_settings(slapd: Slapd) -> Callable[..., LdapSettings]:
    """Settings for the test directory; keyword arguments override any key."""

    def make(**overrides: Any) -> LdapSettings:
        values: dict[str, Any] = {
            "url": slapd.url, "bind_dn": SERVICE_DN, "bind_password": SERVICE_PASSWORD,
            "base_dn": PEOPLE, "search_filter": "(&(objectClass=sesamePatron)(libraryCardNumber={card}))",
            "attributes": ATTRIBUTES, "timeout": 3.0,
        }
        values.update(overrides)
        return LdapSettings.model_validate(values)

    return make


class BlackHole:
    """A TCP port that accepts connections and never says a word."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        self.sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self._held.append(conn)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        for conn in self._held:
            conn.close()
        self.sock.close()


@pytest.fixture
def black_hole() -> Iterator[BlackHole]:
    hole = BlackHole()
    yield hole
    hole.close()


@pytest.fixture
def refused_port() -> int:
    """A port where nothing listens (the kernel answers RST)."""
    return free_port()
