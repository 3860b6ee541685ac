"""Faults under load: a silent SIGB, Redis restarted, PostgreSQL restarted (or its connections cut)."""

from __future__ import annotations

import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import pytest
import requests

from bench import population as P
from broker.services import patron_changes
from scale.cluster import MAIN, SILENT, Browser

pytestmark = pytest.mark.xdist_group("scale")

UNAVAILABLE = "momentanément indisponible"


def timed_login(node, patron, ip: str) -> tuple[float, requests.Response]:
    started = time.perf_counter()
    answer = Browser(ip=ip).login(node, patron)
    return time.perf_counter() - started, answer


def test_a_silent_sigb_fails_its_own_patrons_within_the_timeout_and_no_one_else(cluster):
    a = cluster.node("a")
    main_patrons, silent_patrons = cluster.patrons_of(MAIN), cluster.patrons_of(SILENT)
    # every worker of the node answers a few logins at once first: a worker's first login (templates compiled,
    # SIP2 connections opened) is not what the bound below is about
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda i: timed_login(a, main_patrons[i % len(main_patrons)], f"10.9.1.{i}"), range(16)))
    baseline = [timed_login(a, p, f"10.9.2.{i}")[0] for i, p in enumerate(main_patrons[:6])]

    silent = cluster.emulators[SILENT].process
    os.kill(silent.pid, signal.SIGSTOP)  # the SIGB stops answering: connections hang, nothing is refused
    try:
        failed: list[tuple[float, requests.Response]] = []
        others: list[tuple[float, requests.Response]] = []

        def hammer_silent() -> None:
            for i in range(7):  # more than the breaker's threshold (5 failures)
                failed.append(timed_login(a, silent_patrons[i % len(silent_patrons)], f"10.9.3.{i}"))

        thread = threading.Thread(target=hammer_silent)
        thread.start()
        i = 0
        while thread.is_alive() or len(others) < 10:
            others.append(timed_login(a, main_patrons[i % len(main_patrons)], f"10.9.4.{i}"))
            i += 1
        thread.join()
    finally:
        os.kill(silent.pid, signal.SIGCONT)

    for seconds, answer in failed:
        assert answer.status_code == 503, answer.text[:200]
        assert "ne répond pas" in answer.text  # the sigb_unavailable refusal page
        assert seconds < 1.0 + 1.5  # the connector's timeout (1 s) and some slack, never a hang
    # the library's breaker (shared in Redis) opens after 5 failures: the next patrons are told at once
    assert all(seconds < 0.5 for seconds, _ in failed[5:]), [round(s, 2) for s, _ in failed]
    assert all(answer.status_code == 302 for _, answer in others), [a.status_code for _, a in others]
    slowest = max(seconds for seconds, _ in others)
    assert slowest < max(1.0, 5 * max(baseline)), (slowest, baseline)


def test_redis_restarted_gives_a_clear_503_then_recovers_without_restarting_sesame(cluster):
    a = cluster.node("a")
    patron = cluster.patrons_of(MAIN)[8]
    browser = Browser(ip="10.9.5.1")
    assert browser.login(a, patron).status_code == 302
    sso = f"/saml/unsolicited?providerId={quote(P.SP_ENTITY, safe='')}"
    assert browser.get(a, sso).status_code == 200

    cluster.redis.stop_server()
    try:
        statuses = []
        for path in (sso, "/login", f"/cas/login?service={quote(P.CAS_SERVICE, safe='')}"):
            answer = browser.get(a, path)
            statuses.append(answer.status_code)
            assert answer.status_code == 503, (path, answer.status_code, answer.text[:200])
            assert UNAVAILABLE in answer.text
        token = requests.post(a.base + "/oidc/token", data={"grant_type": "authorization_code", "code": "x",
                                                            "redirect_uri": P.OIDC_REDIRECT}, timeout=10)
        assert token.status_code in (400, 401, 503) and token.headers["Content-Type"].startswith("application/json")
        assert requests.get(a.base + "/healthz", timeout=5).status_code == 200
        assert requests.get(a.base + "/readyz", timeout=5).status_code == 503
    finally:
        cluster.redis.start_server()

    deadline = time.monotonic() + 10
    while requests.get(a.base + "/readyz", timeout=5).status_code != 200:
        assert time.monotonic() < deadline, "Sésame did not see Redis come back"
        time.sleep(0.2)
    again = Browser(ip="10.9.5.2")  # sessions lived only in that Redis (no persistence): log in again
    assert again.login(a, patron).status_code == 302
    assert again.get(a, sso).status_code == 200


def api(cluster, node, method: str, path: str, **kw) -> requests.Response:
    return requests.request(method, node.base + "/api/v1" + path, timeout=10,
                            headers={"Authorization": f"Bearer {cluster.api_token}"}, **kw)


def test_postgresql_lost_gives_503_never_500_and_loses_no_membership_change(cluster):
    a, b = cluster.node("a"), cluster.node("b")
    listing = api(cluster, a, "GET", f"/libraries/{MAIN}/memberships")
    assert listing.status_code == 200, listing.text
    hint = cluster.patrons_of(MAIN)[-1].card[-4:]
    membership = next(m["id"] for m in listing.json()["items"] if m["card_hint"] == hint)
    changed = api(cluster, a, "POST", f"/memberships/{membership}/suspend", json={"reason": "test de panne"})
    assert changed.status_code == 200, changed.text

    patron = cluster.patrons_of(MAIN)[9]
    browser = Browser(ip="10.9.6.1")
    assert browser.login(b, patron).status_code == 302
    sso = f"/saml/unsolicited?providerId={quote(P.SP_ENTITY, safe='')}"

    statuses = []
    if cluster.pg.private:
        cluster.pg.stop_server()
        try:
            # a decision may use what the patron's session holds for up to RECHECK_SECONDS after the
            # database's last answer (services.patron_changes); past that, no node decides without it
            time.sleep(patron_changes.RECHECK_SECONDS + 0.5)
            for node in (a, b):
                answer = browser.get(node, sso)
                statuses.append(answer.status_code)
                assert answer.status_code == 503, answer.text[:300]
                assert UNAVAILABLE in answer.text
            lost = api(cluster, a, "POST", f"/memberships/{membership}/reactivate", json={})
            statuses.append(lost.status_code)
            assert lost.status_code == 503, lost.text
            assert requests.get(a.base + "/readyz", timeout=5).status_code == 503
        finally:
            cluster.pg.start_server()
    else:  # the shared server cannot be restarted: cut every connection of this database instead
        from sqlalchemy import create_engine, text

        engine = create_engine(cluster.pg.url)
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
        engine.dispose()

    deadline = time.monotonic() + 15
    while True:  # each node's pool notices the dead connections by itself (pre-ping), no restart
        answers = [browser.get(node, sso) for node in (a, b)]
        statuses += [x.status_code for x in answers]
        if all(x.status_code == 200 for x in answers):
            break
        assert time.monotonic() < deadline, [x.status_code for x in answers]
        time.sleep(0.3)
    assert 500 not in statuses
    kept = api(cluster, b, "GET", f"/memberships/{membership}")
    assert kept.status_code == 200 and kept.json()["state"] == "suspended", kept.text
    back = api(cluster, b, "POST", f"/memberships/{membership}/reactivate", json={})
    assert back.status_code == 200 and back.json()["state"] == "active", back.text
