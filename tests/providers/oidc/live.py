"""A demo broker served over real HTTP, a patron's browser, and an independent relying party (pyoidc).

Imported by the OIDC and CAS tests as ``providers.oidc.live``. The broker runs
on a werkzeug server in a thread on a free port; the relying party (``oic``,
not Authlib) talks to it over HTTP like a supplier would, fetching the
discovery document and the JWKS itself.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import threading
from dataclasses import dataclass
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from werkzeug.serving import make_server

from broker.testing import MovableClock
from support import free_port

VIRE = "FR-147626101"
SECRET = "test-secret-key-with-enough-entropy-0123456789"
RP_BASE = "https://rp.example.org"
#: seconds of clock difference a relying party accepts between its clock and the broker's
CLOCK_SKEW = 60


@dataclass
class Live:
    app: object
    runtime: object
    base: str
    #: the broker's clock, when the test gave it one: a test moves it forward instead of sleeping
    clock: MovableClock | None = None

    def url(self, path: str) -> str:
        return self.base + path


def app_at(folder, database: str, clock=None, **overrides):
    from broker.app import create_app

    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.startswith("BROKER_") and not name.startswith(("BROKER_TEST_", "BROKER_BENCH_")):
                mp.delenv(name)
        settings = {"secret_key": SECRET, "stats_flush_ms": 0, "instance_path": str(folder / "instance"),
                    "database_url": f"sqlite:///{database}", "log_level": "WARNING"}
        settings.update(overrides)
        app = create_app(settings, clock=clock)
    app.config["TESTING"] = True
    return app


def build_demo_template(tmp_path_factory, migrated_sqlite_template):
    """A migrated SQLite database with the demo network loaded (once per session: argon2 is slow)."""
    from broker.demo import load_demo

    folder = tmp_path_factory.mktemp("demo-template")
    shutil.copy(migrated_sqlite_template, folder / "broker.db")
    app = app_at(folder, str(folder / "broker.db"))
    runtime = app.extensions["broker"]
    with runtime.db.session() as s:
        load_demo(runtime, s, sip2_port=1)
    runtime.close()
    return folder / "broker.db"


def serve(tmp_path_factory, template, **overrides):
    """A demo broker on a live HTTP server in a thread: yields Live, stops the server afterwards."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    folder = tmp_path_factory.mktemp("live")
    shutil.copy(template, folder / "broker.db")
    clock = MovableClock()
    app = app_at(folder, str(folder / "broker.db"), clock=clock, base_url=base, **overrides)
    runtime = app.extensions["broker"]
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Live(app, runtime, base, clock)
    finally:
        server.shutdown()
        thread.join(5)
        runtime.close()


class Browser:
    """A patron's browser: keeps cookies, follows redirects on the broker only."""

    def __init__(self, live: Live) -> None:
        self.live = live
        self.http = requests.Session()

    def get(self, url: str, **kw) -> requests.Response:
        return self.http.get(url, allow_redirects=False, timeout=10, **kw)

    def login(self, card: str = "V0001", pin: str = "4321", library: str = VIRE, next_url: str = "") -> requests.Response:
        """Log in through the portal's real /login form."""
        page = self.get(self.live.url(f"/login?renew=1&library={library}"))
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        data = {"csrf_token": token, "library": library, "card": card, "password": pin}
        if next_url:
            data["next"] = next_url
        return self.http.post(self.live.url("/login"), data=data, allow_redirects=False, timeout=10)

    def follow(self, url: str, limit: int = 10) -> requests.Response:
        """GET ``url`` and follow redirects while they stay on the broker; returns the last answer."""
        response = self.get(url)
        for _ in range(limit):
            location = response.headers.get("Location")
            if response.status_code not in (301, 302, 303, 307) or not location:
                return response
            target = urljoin(response.url, location)
            if not target.startswith(self.live.base):
                return response
            response = self.get(target)
        raise AssertionError("too many redirects")

    def login_via(self, response: requests.Response, card: str = "V0001", pin: str = "4321") -> requests.Response:
        """The broker sent us to /login: fill the form, then follow back."""
        location = urljoin(response.url, response.headers["Location"])
        assert urlsplit(location).path == "/login", location
        next_url = parse_qs(urlsplit(location).query)["next"][0]
        done = self.login(card, pin, next_url=next_url)
        assert done.status_code == 302, done.text[:500]
        return self.follow(urljoin(self.live.base, done.headers["Location"]))


def register(live: Live, slug: str, **options):
    """Register an OIDC client the way `broker suppliers add-oidc` does; returns the Registration."""
    from broker.providers.oidc.clients import register as register_client

    options.setdefault("redirect_uris", [f"{RP_BASE}/{slug}/cb"])
    options.setdefault("networks", ["calvados"])
    with live.runtime.db.session() as s:
        return register_client(live.runtime, s, slug, **options)


def query_of(response: requests.Response) -> dict[str, str]:
    """The query parameters of a redirect's Location."""
    location = response.headers["Location"]
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


class RelyingParty:
    """A supplier's relying party built on pyoidc: discovery, PKCE, token, ID token checks, userinfo."""

    def __init__(self, live: Live, registration, *, auth_method: str = "client_secret_basic") -> None:
        from oic.oic import Client
        from oic.oic.message import RegistrationResponse
        from oic.utils.authn.client import CLIENT_AUTHN_METHOD

        self.live = live
        self.registration = registration
        self.auth_method = "" if registration.public else auth_method  # "": pyoidc sends no credentials
        self.client = Client(client_authn_method=CLIENT_AUTHN_METHOD)
        self.client.provider_config(live.base)
        info = {"client_id": registration.client_id, "redirect_uris": list(registration.redirect_uris)}
        if registration.client_secret:
            info["client_secret"] = registration.client_secret
        self.client.store_registration_info(RegistrationResponse(**info))
        self.redirect_uri = registration.redirect_uris[0]
        self.verifiers: dict[str, str] = {}

    def authorization_url(self, scope: str = "openid profile library", *, pkce: bool = True, **extra) -> tuple[str, str]:
        """The authorization request URL and its state."""
        state = secrets.token_urlsafe(12)
        args = {"client_id": self.registration.client_id, "response_type": "code", "scope": scope.split(),
                "nonce": secrets.token_urlsafe(12), "redirect_uri": self.redirect_uri, "state": state}
        if pkce:
            challenge, verifier = self.client.add_code_challenge()
            args.update(challenge)
            self.verifiers[state] = verifier
        args.update(extra)
        self.client.state2nonce[state] = args["nonce"]
        request = self.client.construct_AuthorizationRequest(request_args=args)
        return request.request(self.client.authorization_endpoint), state

    def code_from(self, response: requests.Response) -> str:
        from oic.oic.message import AuthorizationResponse

        location = response.headers["Location"]
        assert location.startswith(self.redirect_uri), location
        parsed = self.client.parse_response(AuthorizationResponse, info=urlsplit(location).query,
                                            sformat="urlencoded")
        assert isinstance(parsed, AuthorizationResponse), parsed.to_dict()
        return parsed["code"]

    def token(self, state: str, code: str, *, verifier: str | None = None, **extra):
        """The token response (pyoidc verifies the ID token's signature against /oidc/jwks)."""
        args = {"code": code, "redirect_uri": self.redirect_uri}
        verifier = verifier if verifier is not None else self.verifiers.get(state)
        if verifier:
            args["code_verifier"] = verifier
        if self.registration.public:
            args["client_id"] = self.registration.client_id
        args.update(extra)
        # like any relying party, it tolerates some clock skew with the provider (tests move the broker's
        # clock forward instead of sleeping, so its tokens may look issued a few seconds ahead)
        return self.client.do_access_token_request(state=state, request_args=args, authn_method=self.auth_method,
                                                   skew=CLOCK_SKEW)

    def userinfo(self, state: str):
        return self.client.do_user_info_request(state=state)


def private_redis(folder):
    """A redis-server of our own (other tests flush the shared one): yields its URL."""
    import subprocess

    from support import wait_for_port

    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not os.path.exists(binary):
        pytest.skip("redis-server is not installed (Debian package redis-server)")
    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(5)
