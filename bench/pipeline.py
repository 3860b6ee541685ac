"""``python -m bench.pipeline``: inside one worker, what a flow's requests cost through the whole app, in the
view alone, and (OIDC) in the operations alone.

    python -m bench.pipeline                 # 1,500 of each: OIDC code flow, SAML with a session, SAML login
    python -m bench.pipeline --flows 3000

One process, no HTTP server, the benchmark's network (PostgreSQL, Redis, the SIP2 emulator). Each request is
answered three ways, interleaved flow by flow, and its CPU time (``time.thread_time``) taken:

- **app**: the WSGI application as a server calls it (``app(environ, start_response)``): the request and
  response objects, routing, the session, every before- and after-request hook (security headers, metrics,
  CSRF, redirect checks), the body;
- **view**: the request context pushed (routing and the session read), the view function and the session
  write, without the hooks (the CSRF check among them) or the response's conversion: what the endpoint
  itself does (for OIDC, Authlib's grant machinery included);
- **core** (OIDC only): the same operations called directly, without Flask's request pipeline or Authlib:
  the session read, the access decision and release (the usage event included), the code kept, the client's
  secret checked, the code taken, PKCE, the ID token signed (RS256), the tokens kept, the access token read.
  (A request context is pushed beforehand, untimed: the decision may refresh the session's snapshot.)

app − view is what the request pipeline costs per request; view − core, for OIDC, what the framework costs
inside the view (Authlib's grant machinery, Flask's request and response objects) on top of the operations.
The figures are medians over the flows (milliseconds of CPU). Every session is used once before measuring,
so that no tier pays a first visit's session write or a re-read of the patron.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import parse_qs, quote, urlsplit

from werkzeug.datastructures import Headers
from werkzeug.test import EnvironBuilder

from . import loadgen, report, scenarios
from . import population as P
from .run import commit, log
from .stack import Stack, sesame_env

FORM = "application/x-www-form-urlencoded"
OIDC_STEPS = ("authorize", "token", "userinfo")
LOGIN_STEPS = {"request": "AuthnRequest", "page": "login page", "post": "login POST (SIP2)",
               "assertion": "assertion"}


def _environ(base: str, method: str, path: str, headers: dict[str, str], data: str | None = None) -> dict:
    """A request from the client address in X-Forwarded-For (the view tier runs without the proxy fix)."""
    remote = {"REMOTE_ADDR": headers["X-Forwarded-For"]}
    return EnvironBuilder(path=path, method=method, headers=headers, data=data, base_url=base,
                          environ_base=remote).get_environ()


class Harness:
    """The app of one runtime on the benchmark's network, and the three ways of answering a request."""

    def __init__(self, stack: Stack) -> None:
        assert stack.sesame is not None and stack.loaded is not None and stack.pg is not None
        assert stack.redis is not None
        os.environ.update(sesame_env(stack.pg.url, stack.redis.url, stack.sesame.base, str(stack.folder / "instance")))
        from broker.app import create_app

        self.base = stack.sesame.base
        self.loaded = stack.loaded
        self.app = create_app()
        self.rt = self.app.extensions["broker"]
        with self.rt.db.session() as session:  # the first look: snapshots taken from now on are trusted
            self.rt.patron_changes.revalidate(session)
        self.basic = loadgen.basic_auth(self.loaded.oidc_client_id, self.loaded.oidc_client_secret)
        self.redirect = quote(P.OIDC_REDIRECT, safe="")
        self.times: dict[str, list[float]] = {}

    def _note(self, key: str, seconds: float) -> None:
        self.times.setdefault(key, []).append(seconds)

    def app_call(self, key: str | None, environ: dict) -> tuple[str, Headers, bytes]:
        out: dict = {}

        def start_response(status, headers, exc_info=None):
            out["status"], out["headers"] = status, Headers(headers)

        t0 = time.thread_time()
        body = b"".join(self.app(environ, start_response))
        if key:
            self._note(key, time.thread_time() - t0)
        return out["status"], out["headers"], body

    def view_call(self, key: str, environ: dict) -> tuple[str, Headers, bytes]:
        """The request context pushed (routing, the session read), the view, the session write; the
        hooks and the response's conversion untimed."""
        app = self.app
        ctx = app.request_context(environ)
        t0 = time.thread_time()
        ctx.push()
        try:
            response = app.dispatch_request()
            elapsed = time.thread_time() - t0
            response = app.make_response(response)
            t0 = time.thread_time()
            app.session_interface.save_session(app, ctx.session, response)
            self._note(key, elapsed + time.thread_time() - t0)
            return response.status, response.headers, response.get_data()
        finally:
            ctx.pop()

    # -- OIDC ------------------------------------------------------------------------------------
    def _authorize_environ(self, sid: str, ip: str, challenge: str) -> dict:
        path = (f"/oidc/authorize?response_type=code&client_id={quote(self.loaded.oidc_client_id, safe='')}"
                f"&redirect_uri={self.redirect}&scope=openid%20library&state=s1&nonce=n1"
                f"&code_challenge={challenge}&code_challenge_method=S256")
        return _environ(self.base, "GET", path, {"Cookie": f"sesame={sid}", "X-Forwarded-For": ip})

    def _token_environ(self, code: str, verifier: str, ip: str) -> dict:
        body = (f"grant_type=authorization_code&code={code}&redirect_uri={self.redirect}"
                f"&code_verifier={verifier}")
        return _environ(self.base, "POST", "/oidc/token",
                        {"Authorization": self.basic, "Content-Type": FORM, "X-Forwarded-For": ip}, body)

    def _userinfo_environ(self, token: str, ip: str) -> dict:
        return _environ(self.base, "GET", "/oidc/userinfo", {"Authorization": f"Bearer {token}", "X-Forwarded-For": ip})

    def oidc(self, tier: str | None, sid: str, ip: str) -> None:
        """One code flow through the app (``tier`` "app", or None: untimed) or the views ("view")."""
        verifier, challenge = loadgen.pkce_pair()
        call: Callable = self.view_call if tier == "view" else self.app_call
        key = (lambda step: f"oidc.{step}.{tier}") if tier else (lambda step: None)
        location = _location(call(key("authorize"), self._authorize_environ(sid, ip, challenge)))
        code = parse_qs(urlsplit(location).query)["code"][0]
        token = json.loads(_body(call(key("token"), self._token_environ(code, verifier, ip))))["access_token"]
        claims = json.loads(_body(call(key("userinfo"), self._userinfo_environ(token, ip))))
        assert claims.get("sub"), claims

    def oidc_core(self, sid: str, ip: str) -> None:
        """The same flow's operations, called directly."""
        from authlib.oidc.core.util import create_half_hash
        from flask import session

        from broker.providers import issuance
        from broker.providers.oidc.claims import claims_for
        from broker.providers.oidc.clients import find_client
        from broker.providers.oidc.token_entries import CodeEntry
        from broker.web.patron_session import LoggedPatron

        rt, server = self.rt, self.rt.oidc_server
        client = find_client(rt, self.loaded.oidc_client_id)
        verifier, challenge = loadgen.pkce_pair()
        scope = "openid library"
        with self.app.test_request_context("/oidc/authorize"):
            t0 = time.thread_time()
            data = rt.state.get(f"sess:{sid}")
            session.update(data)
            patron = LoggedPatron.from_wire(data["patron"])
            result = issuance.decide(rt, client.supplier, patron.uid, "oidc", patron=patron)
            claims = claims_for(result.attributes, result.subject, scope)
            code = server.tokens.new_code()
            server.tokens.save_code(code, CodeEntry(client.client_id, patron.uid, P.OIDC_REDIRECT, scope,
                                                    int(patron.at), claims, "sid", "n1", challenge, "S256"))
            self._note("oidc.authorize.core", time.thread_time() - t0)
        t0 = time.thread_time()
        assert client.check_client_secret(self.loaded.oidc_client_secret)
        taken = server.tokens.take_code(code, client)
        proof = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        assert taken is not None and proof == taken.entry.code_challenge
        access = server.tokens.new_token(taken.grant)
        now = int(rt.clock.wall())
        id_claims = {"iss": server.issuer, "aud": client.client_id, "iat": now, "exp": now + 600,
                     "auth_time": taken.entry.auth_time, "nonce": taken.entry.nonce,
                     "at_hash": create_half_hash(access, "RS256").decode(), **taken.entry.claims}
        id_token = server.signer.sign(id_claims, "RS256")
        server.tokens.save_tokens(access_token=access, refresh_token=None, client_id=client.client_id,
                                  uid=taken.entry.uid, scope=scope, grant=taken.grant,
                                  auth_time=taken.entry.auth_time, claims=taken.entry.claims)
        json.dumps({"access_token": access, "token_type": "Bearer", "expires_in": 600, "id_token": id_token})
        self._note("oidc.token.core", time.thread_time() - t0)
        t0 = time.thread_time()
        stored = server.tokens.access_token(access)
        assert stored is not None
        json.dumps(stored.entry.claims)
        self._note("oidc.userinfo.core", time.thread_time() - t0)

    # -- SAML with a session -----------------------------------------------------------------------
    def sso(self, tier: str | None, sid: str, ip: str) -> None:
        environ = _environ(self.base, "GET", f"/saml/unsolicited?providerId={quote(P.SP_ENTITY, safe='')}",
                           {"Cookie": f"sesame={sid}", "X-Forwarded-For": ip})
        key = f"saml.sso.{tier}" if tier else None
        call: Callable = self.view_call if tier == "view" else self.app_call
        assert b'name="SAMLResponse"' in call(key, environ)[2]


    # -- SP-initiated SAML login ---------------------------------------------------------------------
    def saml_login(self, tier: str, patron: P.Patron, ip: str, relay: int) -> None:
        """AuthnRequest → login page → login POST (SIP2) → assertion, through the app or the views."""
        call: Callable = self.view_call if tier == "view" else self.app_call
        query = loadgen.authn_request_query(self.base, P.SP_ENTITY, P.SP_ACS, f"https://sp.bench.example.org/r/{relay}")
        answer = call(f"saml_login.request.{tier}", _environ(self.base, "GET", f"/saml/sso?{query}",
                                                             {"X-Forwarded-For": ip}))
        page = _path(_location(answer))
        next_url = re.search(r"[?&]next=([^&]+)", page).group(1)  # type: ignore[union-attr]
        answer = call(f"saml_login.page.{tier}", _environ(self.base, "GET", page, {"X-Forwarded-For": ip}))
        sid = _cookie(answer)
        csrf = re.search(rb'name="csrf_token" value="([^"]+)"', _body(answer)).group(1).decode()  # type: ignore[union-attr]
        form = (f"csrf_token={quote(csrf, safe='')}&library={patron.library}&card={patron.card}"
                f"&password={patron.pin}&next={next_url}")
        answer = call(f"saml_login.post.{tier}", _environ(self.base, "POST", "/login", {
            "Cookie": f"sesame={sid}", "X-Forwarded-For": ip, "Content-Type": FORM}, form))
        sid = _cookie(answer) or sid
        resume = _path(_location(answer))
        assert "/saml/resume" in resume, (tier, resume)
        answer = call(f"saml_login.assertion.{tier}", _environ(self.base, "GET", resume, {
            "Cookie": f"sesame={sid}", "X-Forwarded-For": ip}))
        assert b'name="SAMLResponse"' in _body(answer), tier


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def _cookie(answer) -> str:
    for cookie in answer[1].getlist("Set-Cookie"):
        found = re.match(r"sesame=([^;]+)", cookie)
        if found:
            return found.group(1)
    return ""


def _location(answer) -> str:
    return answer[1].get("Location", "")


def _body(answer) -> bytes:
    return answer[2]


def measure(args) -> dict:
    with Stack(libraries=args.libraries, patrons=max(args.patrons, 3 * args.flows)) as stack:
        harness = Harness(stack)  # before the sessions: its process vouches for their snapshots
        sessions, _ = scenarios.open_sessions(stack, stack.loaded.patrons[: args.flows], connections=4)
        items = [(sid, ip) for _card, sid, ip in sessions.items]
        log(f"{len(items)} sessions open")
        for sid, ip in items:  # every session's first visit (its session writes), untimed
            harness.oidc(None, sid, ip)
            harness.sso(None, sid, ip)
        patrons = stack.loaded.patrons
        for n, (sid, ip) in enumerate(items):
            harness.oidc("app", sid, ip)
            harness.oidc("view", sid, ip)
            harness.oidc_core(sid, ip)
            harness.sso("app", sid, ip)
            harness.sso("view", sid, ip)
            # patrons who have not logged in yet: a first login in the hour writes its time, as in make bench
            for k, tier in ((len(items) + 2 * n, "app"), (len(items) + 2 * n + 1, "view")):
                harness.saml_login(tier, patrons[k], loadgen.client_ip(k), k)  # each from its own address
        harness.rt.close()
    medians = {key: round(statistics.median(values) * 1000, 3) for key, values in sorted(harness.times.items())}
    return {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "commit": commit(),
            "cpu_count": os.cpu_count(), "flows": len(items), "median_cpu_ms": medians}


def markdown(doc: dict) -> str:
    m = doc["median_cpu_ms"]
    lines = [f"CPU milliseconds per request inside one worker, median over {doc['flows']} flows "
             f"({doc['date']}, commit `{doc['commit']}`). Produced by `python -m bench.pipeline`.", "",
             "| request | app | view | core | request pipeline (app − view) | framework inside the view (view − core) |",
             "|---|---:|---:|---:|---:|---:|"]
    totals = {"app": 0.0, "view": 0.0, "core": 0.0}
    for step in OIDC_STEPS:
        app, view, core = (m[f"oidc.{step}.{tier}"] for tier in ("app", "view", "core"))
        totals["app"] += app
        totals["view"] += view
        totals["core"] += core
        lines.append(f"| OIDC {step} | {app:.2f} | {view:.2f} | {core:.2f} | {app - view:.2f} | {view - core:.2f} |")
    a, v, c = totals["app"], totals["view"], totals["core"]
    lines.append(f"| **OIDC flow** | **{a:.2f}** | **{v:.2f}** | **{c:.2f}** | **{a - v:.2f}** ({(a - v) / a:.0%}) "
                 f"| **{v - c:.2f}** ({(v - c) / a:.0%}) |")
    app, view = m["saml.sso.app"], m["saml.sso.view"]
    lines.append(f"| **SAML with a session** | **{app:.2f}** | **{view:.2f}** | — | **{app - view:.2f}** "
                 f"({(app - view) / app:.0%}) | — |")
    totals = {"app": 0.0, "view": 0.0}
    for step in LOGIN_STEPS:
        app, view = m[f"saml_login.{step}.app"], m[f"saml_login.{step}.view"]
        totals["app"] += app
        totals["view"] += view
        lines.append(f"| SAML login: {LOGIN_STEPS[step]} | {app:.2f} | {view:.2f} | — | {app - view:.2f} | — |")
    a, v = totals["app"], totals["view"]
    lines.append(f"| **SAML login flow** | **{a:.2f}** | **{v:.2f}** | — | **{a - v:.2f}** ({(a - v) / a:.0%}) | — |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Per-request CPU: whole app, view alone, operations alone")
    parser.add_argument("--flows", type=int, default=1500)
    parser.add_argument("--libraries", type=int, default=20)
    parser.add_argument("--patrons", type=int, default=2000)
    parser.add_argument("--output", default="pipeline", help="file stem under bench/results/")
    args = parser.parse_args(argv)
    doc = measure(args)
    text = markdown(doc)
    report.RESULTS.mkdir(exist_ok=True)
    (report.RESULTS / f"{args.output}.json").write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    (report.RESULTS / f"{args.output}.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
