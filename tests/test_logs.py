"""Logs never carry a password, PIN, secret or full card number."""

import json
import logging

from broker.logs import JsonFormatter


def test_json_logs_scrub_sensitive_fields_and_numbers():
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "login for 29001000000017 failed", None, None)
    record.event = {"card": "29001000000017", "password": "1234", "library": "FR-1", "note": "card 29001000000017"}
    line = JsonFormatter().format(record)
    assert "29001000000017" not in line and "1234" not in line
    data = json.loads(line)
    assert data["event"]["library"] == "FR-1" and data["event"]["password"] == "[redacted]"
