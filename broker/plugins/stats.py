"""Built-in plugin: the statistics and GDPR commands (``broker stats``, ``broker purge``, ``broker privacy``)."""

from __future__ import annotations

from .. import hookimpl


@hookimpl
def broker_cli_commands():
    from .counter_commands import suppliers
    from .stats_commands import privacy, purge, stats

    return [stats, purge, privacy, suppliers]
