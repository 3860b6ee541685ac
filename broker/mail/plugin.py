"""The mail outbox's sender as a background job of every ``broker serve`` worker."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from .. import hookimpl
from .outbox import run_worker

if TYPE_CHECKING:
    from ..runtime import Runtime


@hookimpl
def broker_background_jobs(runtime: Runtime):
    """Send the outbox every ``mail_poll_seconds``; several workers and nodes never send a message twice."""
    if not runtime.settings.smtp_host:
        return []
    job = functools.partial(run_worker, runtime)
    job.__name__ = "mail"  # type: ignore[attr-defined]  # a partial takes attributes; the server logs jobs by name
    return [job]
