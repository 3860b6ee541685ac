"""Checks of identifiers and free text typed by operators, staff and patrons."""

from __future__ import annotations

import re
from datetime import date

from ..errors import InvalidInput

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_EMAIL = re.compile(r"^[^@\s<>\"']{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def slug(value: str, what: str = "slug") -> str:
    if not _SLUG.match(value or ""):
        raise InvalidInput(f"{what} {value!r}: expected lower-case letters, digits and dashes (at most 64)")
    return value


def library_code(value: str) -> str:
    if not _CODE.match(value or ""):
        raise InvalidInput(f"library code {value!r}: expected letters, digits, '-' or '_' (at most 64), e.g. FR-141186101")
    return value


def text(value: str | None, what: str, *, max_len: int = 200, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise InvalidInput(f"{what}: required")
    if len(value) > max_len:
        raise InvalidInput(f"{what}: at most {max_len} characters")
    if _CONTROL.search(value):
        raise InvalidInput(f"{what}: control characters are not allowed")
    return value


def email(value: str | None, *, required: bool = True) -> str | None:
    value = (value or "").strip()
    if not value:
        if required:
            raise InvalidInput("email: required")
        return None
    if len(value) > 254 or not _EMAIL.match(value):
        raise InvalidInput(f"email {value!r}: not a valid e-mail address")
    return value


def iso_date(value: str, what: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except (ValueError, AttributeError):
        raise InvalidInput(f"{what} {value!r}: expected a date YYYY-MM-DD") from None


def population(value) -> int:
    try:
        n = int(str(value).strip())
    except (TypeError, ValueError):
        raise InvalidInput(f"population {value!r}: expected a whole number") from None
    if n < 0 or str(value).strip().startswith("-"):
        raise InvalidInput(f"population {value!r}: cannot be negative")
    return n
