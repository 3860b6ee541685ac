"""What operators rely on in ``broker serve``'s threaded workers: reload, recycling, metrics, stop.

Each node runs as ``broker serve`` runs it (``python -m broker.server``), on the cluster's database
and Redis. Outcomes are polled for with a generous bound, never timed.
"""

from __future__ import annotations

import re
import signal
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest
import requests

from bench.infra import free_port, wait_http
from bench.stack import SesameServer
from broker.server import ServeOptions
from fixtures.waiting import until

pytestmark = pytest.mark.xdist_group("scale")

PATIENCE = 120
#: a timeout above any boot on a busy machine (the arbiter replaces a worker that takes longer to import the
#: app): these tests are about reloads and recycling, not about the watchdog (tests/scale/test_watchdog.py)
NODE = ServeOptions(workers=2, threads=4, timeout=PATIENCE)




def healthz_count(metrics_port: int) -> float:
    """Requests to /healthz answered 200, summed over every worker that ever ran (Prometheus multiprocess)."""
    text = requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).text
    found = re.findall(r'^broker_http_requests_total\{endpoint="ops\.healthz",status="200"\} (\S+)$', text, re.M)
    return sum(float(value) for value in found)


def hammer(base: str, count: int) -> list[int]:
    """``count`` GET /healthz from 8 clients at once, each keeping its connection open."""
    def client(n: int) -> list[int]:
        with requests.Session() as http:
            return [http.get(base + "/healthz", timeout=PATIENCE).status_code for _ in range(n)]

    with ThreadPoolExecutor(8) as pool:
        return [status for statuses in pool.map(client, [count // 8] * 8) for status in statuses]


def test_threads_are_counted_a_sighup_reloads_the_workers_and_sigterm_stops(cluster):
    metrics = free_port()
    node = SesameServer("broker.wsgi:app", {**cluster.env, "BROKER_METRICS_BIND": f"127.0.0.1:{metrics}"},
                    serve=NODE).start()
    try:
        first = set(node.worker_pids())
        assert len(first) == 2
        before = healthz_count(metrics)
        assert hammer(node.base, 80) == [200] * 80
        assert healthz_count(metrics) == before + 80  # every thread's requests, in both workers' files

        node.process.send_signal(signal.SIGHUP)
        until(lambda: len(set(node.worker_pids())) == 2 and not set(node.worker_pids()) & first,
              "two new workers, the old ones gone")
        wait_http(node.base + "/healthz", timeout=PATIENCE, process=node.process)
        counted = healthz_count(metrics)
        assert counted >= before + 81  # the old workers' counts are kept after they exit
        assert hammer(node.base, 16) == [200] * 16

        node.process.send_signal(signal.SIGTERM)
        assert node.process.wait(PATIENCE) == 0
        log = node.log_tail(200)
        assert "Traceback" not in log, log
        assert "WORKER TIMEOUT" not in log, log
    finally:
        node.stop()


def test_the_access_log_names_each_request_without_its_query_string(cluster):
    node = SesameServer("broker.wsgi:app", cluster.env, serve=replace(NODE, workers=1), access_log=True).start()
    try:
        answer = requests.get(node.base + "/cas/serviceValidate?service=https%3A%2F%2Fsp&ticket=ST-s3cr3t",
                              timeout=PATIENCE)
        assert answer.status_code == 200
        line = until(lambda: next((entry for entry in node.log_tail(200).splitlines()
                                   if "/cas/serviceValidate" in entry), None), "the access log line")
        assert '"GET /cas/serviceValidate HTTP/1.1" 200' in line
        assert "s3cr3t" not in node.log_tail(200) and "ticket=" not in node.log_tail(200)
    finally:
        node.stop()


def test_a_worker_is_replaced_after_its_lifetime_and_requests_are_answered_meanwhile(cluster):
    node = SesameServer("broker.wsgi:app", cluster.env, serve=replace(NODE, workers=1, max_lifetime=60)).start()
    try:
        [first] = node.worker_pids()
        statuses = []
        with requests.Session() as http:
            def replaced() -> bool:
                statuses.append(http.get(node.base + "/healthz", timeout=PATIENCE).status_code)
                return bool(node.worker_pids()) and first not in node.worker_pids()

            until(replaced, "the worker replaced after its lifetime", within=PATIENCE)
        assert set(statuses) == {200}  # the new worker serves before the old one stops
        assert requests.get(node.base + "/healthz", timeout=PATIENCE).status_code == 200
        log = node.log_tail(200)
        assert "Traceback" not in log, log
        assert "WORKER TIMEOUT" not in log, log
    finally:
        node.stop()
