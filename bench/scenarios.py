"""The standard scenarios: each builds its inputs and runs under wrk against a running stack.

Every scenario is a complete flow with distinct patrons:

- ``ceiling``: GET / on the minimal Flask app;
- ``saml_sso``: one GET /saml/unsolicited with a patron's session → signed assertion;
- ``saml_login``: AuthnRequest (HTTP-Redirect) → login page → POST /login (SIP2) → assertion;
- ``oidc_code``: /oidc/authorize with a session → /oidc/token (PKCE, client_secret_basic) → /oidc/userinfo;
- ``cas_login``: /cas/login with a session → /cas/serviceValidate;
- ``login``: login page → POST /login (SIP2); used to open the patrons' sessions;
- ``sigb_silent``: logins of every other library, before and while one library's SIGB does not answer.
"""

from __future__ import annotations

import os
import re
import resource
import signal
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import quote

from . import loadgen
from . import population as P
from .loadgen import Run

#: a flow's inputs are reused cyclically; AuthnRequests cannot be (replay protection): make plenty
AUTHN_REQUESTS_PER_SECOND = 1500


@dataclass
class Sessions:
    """Patrons logged in through /login: (card, session id, client address)."""

    items: list[tuple[str, str, str]]

    def lines(self) -> list[str]:
        return [f"{sid}|{ip}" for _card, sid, ip in self.items]


def open_sessions(stack, patrons: list[P.Patron], *, connections: int,
                  max_seconds: float = 3600) -> tuple[Sessions, Run]:
    """Log each patron in once through the real login form (at most ``max_seconds``); returns their cookies."""
    lines = [f"{p.library}|{p.card}|{p.pin}|{loadgen.client_ip(i)}" for i, p in enumerate(patrons)]
    ip_of = {p.card: loadgen.client_ip(i) for i, p in enumerate(patrons)}
    run = loadgen.run_wrk(stack.sesame.base, "login", lines, duration=max_seconds, connections=connections,
                          until_exhausted=True, server_pids=stack.sesame.worker_pids())
    items = []
    for entry in run.captured:
        card, _, sid = entry.partition("|")
        items.append((card, sid, ip_of[card]))
    return Sessions(items), run


def ceiling(stack, *, duration: float, connections: int) -> Run:
    return loadgen.run_wrk(stack.ceiling.base, "ceiling", [], duration=duration, connections=connections,
                           server_pids=stack.ceiling.worker_pids())


def saml_sso(stack, sessions: Sessions, *, duration: float, connections: int) -> Run:
    return loadgen.run_wrk(stack.sesame.base, "saml_sso", sessions.lines(), duration=duration, connections=connections,
                           extra=(quote(P.SP_ENTITY, safe=""),), server_pids=stack.sesame.worker_pids())


def saml_login(stack, patrons: list[P.Patron], *, duration: float, connections: int, offset: int = 0) -> Run:
    base = stack.sesame.base
    count = int(AUTHN_REQUESTS_PER_SECOND * (duration + 2))
    lines = []
    for n in range(count):
        index = (offset + n) % len(patrons)
        p = patrons[index]
        query = loadgen.authn_request_query(base, P.SP_ENTITY, P.SP_ACS, f"https://sp.bench.example.org/r/{n}")
        lines.append(f"{query}|{p.library}|{p.card}|{p.pin}|{loadgen.client_ip(index)}")
    return loadgen.run_wrk(base, "saml_login", lines, duration=duration, connections=connections,
                           server_pids=stack.sesame.worker_pids())


def oidc_code(stack, sessions: Sessions, *, duration: float, connections: int) -> Run:
    loaded = stack.loaded
    lines = []
    for line in sessions.lines():
        verifier, challenge = loadgen.pkce_pair()
        lines.append(f"{line}|{verifier}|{challenge}")
    extra = (quote(loaded.oidc_client_id, safe=""), quote(P.OIDC_REDIRECT, safe=""),
             loadgen.basic_auth(loaded.oidc_client_id, loaded.oidc_client_secret))
    return loadgen.run_wrk(stack.sesame.base, "oidc_code", lines, duration=duration, connections=connections,
                           extra=extra, server_pids=stack.sesame.worker_pids())


def cas_login(stack, sessions: Sessions, *, duration: float, connections: int) -> Run:
    return loadgen.run_wrk(stack.sesame.base, "cas_login", sessions.lines(), duration=duration,
                           connections=connections, extra=(P.CAS_SERVICE,), server_pids=stack.sesame.worker_pids())


def login_loop(stack, patrons: list[P.Patron], *, duration: float, connections: int, ip_offset: int = 0) -> Run:
    """Logins for ``duration`` seconds, cycling through the patrons (memory growth check)."""
    lines = [f"{p.library}|{p.card}|{p.pin}|{loadgen.client_ip(ip_offset + i)}" for i, p in enumerate(patrons)]
    return loadgen.run_wrk(stack.sesame.base, "login_loop", lines, duration=duration, connections=connections,
                           server_pids=stack.sesame.worker_pids())


def sip2_auth(stack, patrons: list[P.Patron], *, duration: float, libraries: int = 4,
              threads_per_library: int = 2) -> Run:
    """Connector authentications against the emulator, through the SIP2 connector's pools."""
    from connectors.sip2.connector import Sip2Connector, Sip2Settings

    from .infra import SIP2_LOGIN, SIP2_PASSWORD
    from .sip2_bench import percentile, run_phase

    connectors = [Sip2Connector(Sip2Settings(host="127.0.0.1", port=stack.emulator.port, login=SIP2_LOGIN,
                                             password=SIP2_PASSWORD, institution="BENCH", pool_size=2, timeout=5.0))
                  for _ in range(libraries)]
    pairs = [(p.card, p.pin) for p in patrons]
    try:
        before = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        phase = run_phase(connectors, pairs, threads_per_library, duration)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_SELF)
    finally:
        for c in connectors:
            c.close()
    pooled = [v for values in phase["latencies"] for v in values]
    import os

    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) / (wall * (os.cpu_count() or 1))
    return Run(scenario="sip2_auth", flows=len(pooled), flow_errors=sum(phase["errors"]), seconds=phase["elapsed"],
               p50_ms=percentile(pooled, 0.50) * 1000, p95_ms=percentile(pooled, 0.95) * 1000,
               p99_ms=percentile(pooled, 0.99) * 1000, request_p99_ms=percentile(pooled, 0.99) * 1000,
               requests=len(pooled), socket_errors={}, status_errors=0, client_cpu=cpu, server_cpu=0.0,
               machine_cpu=0.0)


@dataclass
class FaultRun:
    """Other libraries' logins with every SIGB answering (``before`` and ``after``) and while one does not."""

    library: str
    before: Run
    faulty: Run
    after: Run
    #: the silenced library's logins meanwhile: (seconds for the form's POST, status, refusal page shown)
    refused: list[tuple[float, int, bool]] = field(default_factory=list)


def sigb_silent(stack, patrons: list[P.Patron], *, duration: float, connections: int,
                pace: float = 0.25, patrons_at_once: int = 2) -> FaultRun:
    """The last library's SIGB stops answering (SIGSTOP: connections hang, nothing is refused).

    The other libraries' logins run under the same closed-loop load as the other scenarios: before,
    during and after the fault (the machine's speed drifts: the fault is judged against both). During
    it, ``patrons_at_once`` of the silenced library's patrons keep trying to log in, each one attempt
    every ``pace`` seconds (or as soon as the previous one is answered). The SIGB is resumed at the
    end; its breaker, shared in Redis, stays open until its next probe, which the "after" run does
    not need (it logs the other libraries' patrons in).
    """
    import requests

    library = stack.loaded.libraries[-1]
    others = [p for p in patrons if p.library != library]
    silenced = [p for p in patrons if p.library == library]
    before = login_loop(stack, others, duration=duration, connections=connections)
    refused: list[tuple[float, int, bool]] = []
    stop = threading.Event()

    def attempts(first: int) -> None:
        base, n = stack.sesame.base, first
        while not stop.is_set():
            p = silenced[n % len(silenced)]
            headers = {"X-Forwarded-For": loadgen.client_ip(3 * len(patrons) + n)}
            began = time.perf_counter()
            with requests.Session() as browser:
                page = browser.get(f"{base}/login", params={"library": p.library}, headers=headers, timeout=30)
                token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
                posted = time.perf_counter()
                answer = browser.post(f"{base}/login", headers=headers, timeout=30, allow_redirects=False, data={
                    "csrf_token": token.group(1) if token else "", "library": p.library, "card": p.card,
                    "password": p.pin})
            refused.append((time.perf_counter() - posted, answer.status_code, "ne répond pas" in answer.text))
            n += patrons_at_once
            stop.wait(max(0.0, pace - (time.perf_counter() - began)))

    os.kill(stack.quiet.process.pid, signal.SIGSTOP)
    threads = [threading.Thread(target=attempts, args=(k,), daemon=True) for k in range(patrons_at_once)]
    try:
        for thread in threads:
            thread.start()
        faulty = login_loop(stack, others, duration=duration, connections=connections, ip_offset=len(patrons))
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)
        os.kill(stack.quiet.process.pid, signal.SIGCONT)
    after = login_loop(stack, others, duration=duration, connections=connections, ip_offset=2 * len(patrons))
    return FaultRun(library, before, faulty, after, refused)
