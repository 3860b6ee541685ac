"""A request that runs past ``timeout`` has its worker replaced, under the real ``broker serve`` stack.

The node runs as ``broker serve`` runs it (granian's workers and the request watchdog), with
one worker and a 2-second timeout. The hung request is a login at a library whose SIGB accepts the
connection and never answers, with a connector timeout (60 s) far above the server's: only the
watchdog can end it.
"""

from __future__ import annotations

import re
import socket
import threading
from pathlib import Path

import pytest
import requests

from bench.infra import SIP2_LOGIN, SIP2_PASSWORD, wait_http
from bench.stack import SesameServer, make_runtime
from broker.server import ServeOptions
from broker.services import libraries
from fixtures.waiting import until
from scale.cluster import MAIN, PUBLIC, Browser

pytestmark = pytest.mark.xdist_group("scale")

HUNG = "FR-HUNG00001"
#: how long the test waits for an outcome at most (a bound on a busy machine, never a measured duration)
PATIENCE = 120.0


@pytest.fixture(scope="module")
def hung_library(cluster):
    """A library whose SIGB takes the TCP connection and never says a word."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # connections complete in the backlog; none is ever accepted or answered
    runtime = make_runtime(cluster.pg.url, cluster.redis.url, PUBLIC, cluster.env["BROKER_INSTANCE_PATH"])
    try:
        with runtime.db.session() as s:
            libraries.add_library(runtime, s, HUNG, name="Bibliothèque muette", partner="bench-partner-0",
                                  connector="sip2", actor="test", settings={
                                      "host": "127.0.0.1", "port": silent.getsockname()[1], "login": SIP2_LOGIN,
                                      "password": SIP2_PASSWORD, "institution": "BENCH", "timeout": 60.0,
                                      "pool_size": 2})
        yield HUNG
    finally:
        with runtime.db.session() as s:
            libraries.set_enabled(runtime, s, HUNG, False, actor="test")
        runtime.close()
        silent.close()




def test_a_hung_request_gets_its_worker_replaced_and_the_node_serves_on(cluster, hung_library):
    node = SesameServer("broker.wsgi:app", cluster.env, serve=ServeOptions(workers=1, threads=4, timeout=2)).start()
    try:
        [first] = node.worker_pids()
        browser = Browser(ip="10.9.8.1")
        page = browser.get(node, f"/login?library={hung_library}")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        outcome: dict[str, object] = {}

        def log_in_at_the_hung_library() -> None:
            try:
                outcome["answer"] = browser.http.post(
                    node.base + "/login?lang=fr&ticket=s3cr3t-query-value", allow_redirects=False, timeout=PATIENCE,
                    headers={"X-Forwarded-For": browser.ip},
                    data={"csrf_token": token, "library": hung_library, "card": "HUNG0001", "password": "1234"})
            except requests.RequestException as exc:
                outcome["error"] = exc

        hung = threading.Thread(target=log_in_at_the_hung_library)
        hung.start()
        hung.join(PATIENCE)
        assert not hung.is_alive()
        # the worker left while answering: the connection is cut, no answer (the SIGB's own 60 s never came)
        assert "answer" not in outcome, outcome
        assert isinstance(outcome["error"], requests.ConnectionError), outcome

        replacement = until(lambda: [pid for pid in node.worker_pids() if pid != first], "a new worker")
        assert first not in node.worker_pids()
        wait_http(node.base + "/healthz", timeout=PATIENCE, process=node.process)  # the new worker answers
        patron = cluster.patrons_of(MAIN)[-1]
        assert Browser(ip="10.9.8.2").login(node, patron).status_code == 302
        assert node.worker_pids() == replacement

        log = until(lambda: (text := Path(node.log).read_text(errors="replace"))
                    and "Unexpected exit from worker-1" in text and text, "the server's line about the worker")
        [line] = [entry for entry in log.splitlines() if "WORKER TIMEOUT" in entry]
        assert "[ERROR]" in line
        assert f"(pid:{first}): POST /login still running after" in line
        assert "(timeout 2 s)" in line
        assert "s3cr3t" not in log and "ticket=" not in log  # never the query string
    finally:
        node.stop()
