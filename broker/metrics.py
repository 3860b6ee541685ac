"""Prometheus metrics. With several worker processes set PROMETHEUS_MULTIPROC_DIR so that every worker counts."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUESTS = Counter("broker_http_requests_total", "HTTP requests answered", ["endpoint", "status"])
LATENCY = Histogram(
    "broker_http_request_seconds",
    "Time to answer an HTTP request",
    ["endpoint"],
    buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
LOGINS = Counter("broker_logins_total", "Patron login attempts", ["outcome"])
ISSUANCES = Counter("broker_issuances_total", "Assertions, tokens and tickets asked for", ["protocol", "outcome"])
SIGB_CALLS = Histogram(
    "broker_sigb_call_seconds", "Time of SIGB connector calls", ["connector", "outcome"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
MAIL_ATTEMPTS = Counter("broker_mail_attempts_total", "Attempts to send an e-mail of the outbox", ["outcome"])
