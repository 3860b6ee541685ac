"""A small Koha REST API for the tests, started once per session on a free port.

No Koha can run here. This server follows Koha's published OpenAPI
definitions for the endpoints the connector uses (``api/v1/swagger``:
``paths/oauth.yaml``, ``paths/auth.yaml`` ``/auth/password/validation``,
``paths/patrons.yaml``, ``definitions/patron.yaml``) and the behaviour of the
controllers behind them: userid is tried before cardnumber, an unknown
identifier and a wrong password both give 400 ``{"error": "Validation
failed"}``, list filters match with ``_match`` (default ``contains``, a SQL
LIKE), errors are ``{"error": ...}`` objects, request bodies that break the
schema get ``{"errors": [...], "status": 400}``.

Tests can make it misbehave on purpose (``server.fault(path, kind)``).
"""

from __future__ import annotations

import base64
import json
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from broker.testing.net import free_port
from connectors.koha import KohaSettings

CLIENT_ID = "sesame-client"
CLIENT_SECRET = "client-secret-42"
API_USER = "sesame"
API_PASSWORD = "api-pw-42"


@dataclass
class KohaPatron:
    patron_id: int
    cardnumber: str | None
    userid: str
    password: str
    firstname: str
    surname: str
    email: str | None = None
    date_of_birth: str | None = None
    expiry_date: str | None = None
    category_id: str = "ADULTE"
    library_id: str = "CPL"
    restricted: bool = False
    patron_card_lost: bool = False
    password_expired: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def to_api(self) -> dict[str, Any]:
        """The patron as ``definitions/patron.yaml`` describes it (a subset of its fields)."""
        data = {
            "patron_id": self.patron_id, "cardnumber": self.cardnumber, "userid": self.userid,
            "firstname": self.firstname, "surname": self.surname, "preferred_name": None,
            "email": self.email, "date_of_birth": self.date_of_birth, "expiry_date": self.expiry_date,
            "category_id": self.category_id, "library_id": self.library_id, "restricted": self.restricted,
            "patron_card_lost": self.patron_card_lost, "date_enrolled": "2020-01-15",
            "address": "1 rue de la Médiathèque", "city": "Caen", "lang": "fr-FR", "privacy": 1,
            "updated_on": "2024-05-02T10:00:00+02:00", "anonymized": False,
        }
        data.update(self.extra)
        return data


def koha_patrons(today: date) -> list[KohaPatron]:
    next_year = (today + timedelta(days=365)).isoformat()
    return [
        KohaPatron(1, "KOHA0001", "amartin", "alice-pw", "Alice", "Martin", "alice@example.org",
                   "1985-04-12", next_year, "ADULTE", "CPL"),
        KohaPatron(2, "KOHA0002", "bleroy", "bob-pw", "Bob", "Leroy", None, "1970-01-30",
                   (today - timedelta(days=1)).isoformat()),
        KohaPatron(3, "KOHA0003", "cpetit", "carole-pw", "Carole", "Petit", None, None, next_year,
                   restricted=True),
        KohaPatron(4, "KOHA0004", "edurand", "eve-pw", "Ève", "Durand", None, "2015-03-01", next_year,
                   "ENFANT", "MPL", patron_card_lost=True),
        KohaPatron(5, "KOHA00011", "jdupont", "jd-pw", "Jean", "Dupont", None, None, next_year),
        KohaPatron(6, "KOHA0006", "old", "old-pw", "Odile", "Ancienne", None, None, next_year,
                   password_expired=True),
        KohaPatron(7, "KOHA0098", "garbage", "garbage-pw", "Gaston", "Garbage", None, "31/12/1990", next_year),
        KohaPatron(8, "koha0007", "lower", "lower-pw", "Lucie", "Minuscule", None, None, next_year),
    ]


@dataclass
class Fault:
    kind: str
    delay: float = 0.0


class KohaServer:
    """The fake Koha: state, faults and a threaded HTTP server."""

    def __init__(self) -> None:
        self.patrons = koha_patrons(date.today())
        self.tokens: dict[str, float] = {}
        self.token_lifetime = 3600
        self.tokens_issued = 0
        self.permissions = True
        self.requests: list[tuple[str, str]] = []
        self.urls: list[str] = []  # full request targets, query strings included
        self.faults: dict[str, Fault] = {}
        self.stopping = threading.Event()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self.httpd.daemon_threads = True
        self.httpd.handle_error = lambda request, address: None  # faults break connections on purpose
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def reset(self) -> None:
        self.faults.clear()
        self.tokens.clear()
        self.token_lifetime = 3600
        self.tokens_issued = 0
        self.permissions = True
        self.requests.clear()
        self.urls.clear()

    def fault(self, path: str, kind: str, delay: float = 0.0) -> None:
        """Make requests whose path starts with ``path`` misbehave."""
        self.faults[path] = Fault(kind, delay)

    def revoke_tokens(self) -> None:
        self.tokens.clear()

    def find(self, **where: Any) -> KohaPatron | None:
        for patron in self.patrons:
            if all(str(getattr(patron, k) or "").lower() == str(v).lower() for k, v in where.items()):
                return patron
        return None


def _handler_for(server: KohaServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out in two writes

        def log_message(self, *args: Any) -> None:  # keep test output quiet
            pass

        # -- plumbing --------------------------------------------------------

        def _body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _send(self, status: int, payload: Any = None, *, content_type: str = "application/json",
                  raw: bytes | None = None, headers: dict[str, str] | None = None) -> None:
            body = raw if raw is not None else (b"" if payload is None else json.dumps(payload).encode())
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def _fault(self, path: str) -> Fault | None:
            for prefix, fault in server.faults.items():
                if path.startswith(prefix):
                    return fault
            return None

        def _misbehave(self, fault: Fault) -> bool:
            """Apply a fault; True when the answer has been given (or withheld)."""
            kind = fault.kind
            if kind == "slow":
                server.stopping.wait(fault.delay)
                return False
            if kind == "500":
                self._send(500, {"error": "Something went wrong, check Koha logs for details.",
                                 "error_code": "internal_server_error"})
            elif kind == "503":
                self._send(503, {"error": "System is under maintenance."})
            elif kind == "502-html":
                self._send(502, raw=b"<html><body><h1>502 Bad Gateway</h1></body></html>",
                           content_type="text/html")
            elif kind == "html":
                self._send(200, raw=b"<!DOCTYPE html><html><title>Koha &rsaquo; Log in</title></html>",
                           content_type="text/html; charset=utf-8")
            elif kind == "html-201":
                self._send(201, raw=b"<!DOCTYPE html><html><title>Koha</title></html>",
                           content_type="text/html; charset=utf-8")
            elif kind == "garbage":
                self._send(201, raw=b"{\"patron_id\": 1, \"cardn", content_type="application/json")
            elif kind == "not-utf8":
                self._send(201, raw=b"\xff\xfe\x00{", content_type="application/json")
            elif kind == "no-patron-id":
                self._send(201, {"cardnumber": "KOHA0001", "userid": "amartin"})
            elif kind == "string-patron-id":
                self._send(201, {"cardnumber": "KOHA0001", "patron_id": "1", "userid": "amartin"})
            elif kind == "array":
                self._send(200, [{"patron_id": 1}])
            elif kind == "wrong-types":
                self._send(200, {**server.patrons[0].to_api(), "restricted": "maybe"})
            elif kind == "empty":
                self._send(201, raw=b"", content_type="application/json")
            elif kind == "400-html":
                self._send(400, raw=b"<html>Bad Request</html>", content_type="text/html")
            elif kind == "400-schema":
                self._send(400, {"errors": [{"message": "Properties not allowed: identifier.",
                                             "path": "/body"}], "status": 400})
            elif kind == "418":
                self._send(418, {"error": "I'm a teapot"})
            elif kind == "redirect":
                self._send(302, raw=b"", content_type="text/html",
                           headers={"Location": "/cgi-bin/koha/mainpage.pl"})
            elif kind == "huge":
                self._send(200, raw=b"[" + b"0," * 1_000_000 + b"0]")
            elif kind == "truncated":
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "400")
                self.end_headers()
                self.wfile.write(b'{"cardnumber": "KOHA0001", "pat')
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
            elif kind == "drip":
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "200")
                self.end_headers()
                for _ in range(200):
                    if server.stopping.wait(0.05):
                        break
                    try:
                        self.wfile.write(b" ")
                        self.wfile.flush()
                    except OSError:
                        break
                self.close_connection = True
            elif kind == "hang-up":
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
            else:
                raise AssertionError(f"unknown fault {kind}")
            return True

        def _authorized(self) -> bool:
            header = self.headers.get("Authorization", "")
            if header.startswith("Bearer "):
                expiry = server.tokens.get(header[7:])
                ok = expiry is not None and expiry > time.monotonic()
            elif header.startswith("Basic "):
                try:
                    user, _, password = base64.b64decode(header[6:]).decode().partition(":")
                except ValueError:
                    user, password = "", ""
                ok = (user, password) == (API_USER, API_PASSWORD)
            else:
                ok = False
            if not ok:
                self._send(401, {"error": "Authentication failure."})
                return False
            if not server.permissions:
                self._send(403, {"error": "Authorization failure. Missing required permission(s).",
                                 "required_permissions": {"borrowers": "1"}})
                return False
            return True

        # -- routes ------------------------------------------------------------

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            parts = urlsplit(self.path)
            body = self._body()
            server.requests.append(("POST", parts.path))
            server.urls.append(self.path)
            fault = self._fault(parts.path)
            if fault and self._misbehave(fault):
                return
            if parts.path == "/api/v1/oauth/token":
                return self._token(body)
            if parts.path == "/api/v1/auth/password/validation":
                if self._authorized():
                    self._validate(body)
                return
            self._send(404, {"error": "Not Found"})

        def do_GET(self) -> None:  # noqa: N802
            parts = urlsplit(self.path)
            server.requests.append(("GET", parts.path))
            server.urls.append(self.path)
            fault = self._fault(parts.path)
            if fault and self._misbehave(fault):
                return
            if not parts.path.startswith("/api/v1/"):
                return self._send(404, raw=b"<html>Not found</html>", content_type="text/html")
            if not self._authorized():
                return
            if parts.path == "/api/v1/patrons":
                return self._list(parse_qs(parts.query), self.headers.get("x-koha-query"))
            if parts.path.startswith("/api/v1/patrons/"):
                return self._get(parts.path.rsplit("/", 1)[1])
            self._send(404, {"error": "Not Found"})

        def _token(self, body: bytes) -> None:
            if "application/x-www-form-urlencoded" not in self.headers.get("Content-Type", ""):
                return self._send(400, {"errors": [{"message": "Expected form data", "path": "/"}],
                                        "status": 400})
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            if form.get("grant_type") != "client_credentials":
                return self._send(400, {"error": "Unimplemented grant type"})
            if (form.get("client_id"), form.get("client_secret")) != (CLIENT_ID, CLIENT_SECRET):
                return self._send(403, {"error": "unauthorized_client"})
            token = secrets.token_hex(16)
            server.tokens[token] = time.monotonic() + server.token_lifetime
            server.tokens_issued += 1
            self._send(200, {"access_token": token, "token_type": "Bearer",
                             "expires_in": server.token_lifetime})

        def _validate(self, body: bytes) -> None:
            try:
                data = json.loads(body)
            except ValueError:
                return self._send(400, {"errors": [{"message": "Expected object", "path": "/body"}],
                                        "status": 400})
            allowed = {"identifier", "password", "userid"}
            if not isinstance(data, dict) or not isinstance(data.get("password"), str) \
                    or set(data) - allowed or not all(isinstance(v, str) for v in data.values()):
                return self._send(400, {"errors": [{"message": "Invalid body", "path": "/body"}],
                                        "status": 400})
            identifier = data.get("identifier")
            if identifier is None:
                return self._send(400, {"error": "Validation failed"})
            patron = server.find(userid=identifier) or server.find(cardnumber=identifier)
            if patron is None or patron.password != data["password"]:
                return self._send(400, {"error": "Validation failed"})
            if patron.password_expired:
                return self._send(400, {"error": "Password expired"})
            self._send(201, {"cardnumber": patron.cardnumber, "patron_id": patron.patron_id,
                             "userid": patron.userid})

        def _get(self, raw_id: str) -> None:
            if not raw_id.isdigit():
                return self._send(400, {"errors": [{"message": "Expected integer", "path": "/patron_id"}],
                                        "status": 400})
            patron = next((p for p in server.patrons if p.patron_id == int(raw_id)), None)
            if patron is None:
                return self._send(404, {"error": "Patron not found"})
            self._send(200, patron.to_api())

        def _list(self, query: dict[str, list[str]], header_query: str | None) -> None:
            if header_query is not None:
                return self._list_by_json_query(header_query, query)
            match = query.get("_match", ["contains"])[0]
            per_page = int(query.get("_per_page", ["20"])[0])
            wanted = query.get("cardnumber", [None])[0]
            tests: dict[str, Callable[[str], bool]] = {
                "contains": lambda v: wanted.lower() in v.lower(),
                "exact": lambda v: wanted.lower() == v.lower(),
                "starts_with": lambda v: v.lower().startswith(wanted.lower()),
                "ends_with": lambda v: v.lower().endswith(wanted.lower()),
            }
            if match not in tests:
                return self._send(400, {"errors": [{"message": "Not in enum list", "path": "/_match"}],
                                        "status": 400})
            found = [p for p in server.patrons
                     if wanted is None or (p.cardnumber is not None and tests[match](p.cardnumber))]
            self._send(200, [p.to_api() for p in found[:per_page]],
                       headers={"X-Total-Count": str(len(found))})

        def _list_by_json_query(self, raw: str, query: dict[str, list[str]]) -> None:
            """A JSON query (q, x-koha-query): equality on API field names, as DBIC does."""
            try:
                where = json.loads(raw)
            except ValueError:
                return self._send(400, {"error": "Invalid JSON query", "error_code": "invalid_query"})
            fields = set(server.patrons[0].to_api())
            if not isinstance(where, dict) or set(where) - fields \
                    or not all(isinstance(v, (str, int)) for v in where.values()):
                return self._send(400, {"error": "Invalid query", "error_code": "invalid_query"})
            per_page = int(query.get("_per_page", ["20"])[0])
            found = [p for p in server.patrons
                     if all(str(p.to_api().get(k) or "").lower() == str(v).lower() for k, v in where.items())]
            self._send(200, [p.to_api() for p in found[:per_page]],
                       headers={"X-Total-Count": str(len(found))})

    return Handler


@pytest.fixture(scope="session")
def koha_server() -> Iterator[KohaServer]:
    server = KohaServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def koha(koha_server: KohaServer) -> Iterator[KohaServer]:
    """The fake Koha, with clean state and no faults for each test."""
    koha_server.reset()
    yield koha_server
    koha_server.reset()


@pytest.fixture
def koha_settings(koha: KohaServer) -> Callable[..., KohaSettings]:
    """Settings for the fake Koha (OAuth2); keyword arguments override any key."""

    def make(**overrides: Any) -> KohaSettings:
        values: dict[str, Any] = {"base_url": koha.url, "auth": "oauth2", "client_id": CLIENT_ID,
                                  "client_secret": CLIENT_SECRET, "timeout": 2.0}
        if overrides.get("auth") == "basic":
            values.update(client_id=None, client_secret=None, username=API_USER, password=API_PASSWORD)
        values.update(overrides)
        return KohaSettings.model_validate(values)

    return make


@pytest.fixture
def dead_port() -> int:
    return free_port()
