"""Checks shared by the records that read their stored form back (``from_wire``).

Sessions, pending requests, tokens and tickets are stored as small JSON
objects. What comes back may be damaged, foreign, or written by another
version: each record's ``from_wire`` checks every field with these and gives
None rather than a half-read record.
"""

from __future__ import annotations

import math
from typing import Any


def is_int(value: Any) -> bool:
    """An integer, not a boolean."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """A finite integer or float, not a boolean."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def is_time(value: Any) -> bool:
    """Epoch seconds: a finite, non-negative number."""
    return is_number(value) and value >= 0


def is_str_or_none(value: Any) -> bool:
    return value is None or isinstance(value, str)


def is_str_map(value: Any) -> bool:
    """A JSON object whose values are all strings."""
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())


def millis(value: Any) -> int | None:
    """``value`` in whole milliseconds when it is exactly that many (epoch seconds to the millisecond), else None."""
    if not is_number(value):
        return None
    ms = round(value * 1000)
    return ms if ms / 1000 == value else None


def micros(value: Any) -> int | None:
    """``value`` in whole microseconds when it is exactly that many (a row's change time), else None."""
    if not is_number(value):
        return None
    us = round(value * 10**6)
    return us if us / 10**6 == value else None
