"""Structured logging that never carries a password, PIN, secret or full card number."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

_SENSITIVE_KEYS = re.compile(r"pass|pin|secret|card|token|code_verifier", re.I)
#: a run of 8+ digits or a long token-like string is masked wherever it appears in a message
_LONG_NUMBER = re.compile(r"\b\d{8,}\b")


def _scrub(value):
    if isinstance(value, dict):
        return {k: ("[redacted]" if _SENSITIVE_KEYS.search(k) else _scrub(v)) for k, v in value.items()}
    if isinstance(value, str):
        return _LONG_NUMBER.sub("[number]", value)
    return value


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": _scrub(record.getMessage()),
        }
        event = getattr(record, "event", None)
        if isinstance(event, dict):
            payload["event"] = _scrub(event)
        if record.exc_info:
            payload["error"] = _scrub(self.formatException(record.exc_info))
        return json.dumps(payload, ensure_ascii=False, default=str)


class ScrubbingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return _scrub(super().format(record))


def configure_logging(level: str = "INFO", as_json: bool = True) -> None:
    """Install one handler on the root logger (idempotent)."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if getattr(h, "_broker", False)), None)
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler._broker = True  # type: ignore[attr-defined]  # our mark on the handler we installed
        root.addHandler(handler)
    handler.setFormatter(JsonFormatter() if as_json else ScrubbingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.setLevel(level.upper())
