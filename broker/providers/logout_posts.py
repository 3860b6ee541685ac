"""Logout messages POSTed server to server (OIDC back-channel logout, CAS single logout).

Every POST runs concurrently, with a short timeout each and a bounded total
time, so the patron's logout page never waits long. A supplier counts as told
when it answers 200 or 204. A failure is logged with the supplier's slug and
the kind of error only: never the patron's identifier, ticket or token.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass

import requests

log = logging.getLogger("broker.logout")

#: seconds allowed to one POST, and to all of them together
REQUEST_TIMEOUT = 2.0
TOTAL_TIMEOUT = 3.0
MAX_WORKERS = 8


@dataclass(frozen=True)
class LogoutPost:
    """One message to deliver: the supplier's name (shown to the patron) and slug (logged), where, what."""

    name: str
    slug: str
    url: str
    data: dict[str, str]
    kind: str


def _post(job: LogoutPost) -> bool:
    answer = requests.post(job.url, data=job.data, timeout=REQUEST_TIMEOUT, allow_redirects=False,
                           headers={"Cache-Control": "no-cache"})
    return answer.status_code in (200, 204)


def deliver(jobs: Iterable[LogoutPost], total_timeout: float = TOTAL_TIMEOUT) -> list[str]:
    """POST every message; the names of the suppliers that acknowledged, sorted."""
    jobs = list(jobs)
    if not jobs:
        return []
    told: set[str] = set()
    pool = ThreadPoolExecutor(max_workers=min(MAX_WORKERS, len(jobs)), thread_name_prefix="logout-post")
    try:
        futures = {pool.submit(_post, job): job for job in jobs}
        done, pending = wait(futures, timeout=total_timeout)
        for future in done:
            job = futures[future]
            error = future.exception()
            if error is None and future.result():
                told.add(job.name)
            else:
                log.warning("logout not acknowledged", extra={"event": {
                    "kind": job.kind, "supplier": job.slug, "error": type(error).__name__ if error else "status"}})
        for future in pending:
            job = futures[future]
            log.warning("logout timed out", extra={"event": {"kind": job.kind, "supplier": job.slug}})
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return sorted(told)
