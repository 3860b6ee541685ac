"""Built-in plugin: the statistics and GDPR commands (``broker stats``, ``broker purge``, ``broker privacy``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import hookimpl

if TYPE_CHECKING:
    from ..runtime import Runtime


@hookimpl
def broker_cli_commands():
    from ..cli.stats_commands import privacy, purge, stats
    from .counter_commands import suppliers

    return [stats, purge, privacy, suppliers]


@hookimpl
def broker_background_jobs(runtime: Runtime):
    """The suppliers' COUNTER reports harvested once a night (services/counter/nightly.py)."""
    import functools

    from ..services.counter.nightly import run_worker

    job = functools.partial(run_worker, runtime)
    job.__name__ = "sushi-harvest"  # type: ignore[attr-defined]  # a partial takes attributes; the server logs jobs by name
    return [job]
