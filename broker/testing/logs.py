"""Capture what the broker logs during a test, as the JSON lines production writes."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class CapturedLogs:
    """The log records written while the capture was on, formatted by the broker's JSON formatter."""

    stream: io.StringIO
    handler: logging.Handler

    @property
    def text(self) -> str:
        return self.stream.getvalue()


@contextmanager
def capture_logs(level: int = logging.DEBUG) -> Iterator[CapturedLogs]:
    """Send every record of ``level`` and above, from any logger, to a string while the block runs."""
    from broker.logs import JsonFormatter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    saved = root.level
    root.addHandler(handler)
    root.setLevel(level)
    try:
        yield CapturedLogs(stream, handler)
    finally:
        root.removeHandler(handler)
        root.setLevel(saved)
