"""The mail outbox's sender as a background job of every ``broker serve`` worker."""

from __future__ import annotations

import functools

from .. import hookimpl
from .outbox import run_worker


@hookimpl
def broker_background_jobs(runtime):
    """Send the outbox every ``mail_poll_seconds``; several workers and nodes never send a message twice."""
    if not runtime.settings.smtp_host:
        return []
    job = functools.partial(run_worker, runtime)
    job.__name__ = "mail"
    return [job]
