"""Turning a directory entry into a PatronRecord."""

from __future__ import annotations

import re
from datetime import date

from broker.domain.connectors import ConnectorProtocolError
from broker.domain.patrons import PatronRecord

from .settings import LdapAttributeMap

_FALSE = {"", "0", "false", "no", "non", "n", "f"}
_TRUE = {"1", "true", "yes", "oui", "y", "t"}
# GeneralizedTime (20251231235959Z, with or without time), plain YYYYMMDD or ISO dates.
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:\d{2,6}(?:[.,]\d+)?)?(?:Z|[+-]\d{2,4})?$")
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?$")


class EntryValues:
    """Case-insensitive, decoded view of the attributes of one entry."""

    def __init__(self, attrs: dict[str, list[bytes]]) -> None:
        self._attrs = {key.lower(): values for key, values in attrs.items()}

    def first(self, attr: str | None) -> str | None:
        """The first value of ``attr`` as text, or None when absent or empty."""
        if not attr:
            return None
        values = self._attrs.get(attr.lower())
        if not values:
            return None
        raw = values[0]
        try:
            text = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
        except UnicodeDecodeError as exc:
            raise ConnectorProtocolError(f"attribute {attr} is not valid UTF-8", raw=raw[:200]) from exc
        text = text.strip()
        return text or None


def parse_directory_date(value: str | None, attr: str) -> date | None:
    """Read a date written as GeneralizedTime, YYYYMMDD or ISO 8601."""
    if value is None:
        return None
    match = _COMPACT.match(value) or _ISO.match(value)
    if not match:
        raise ConnectorProtocolError(f"attribute {attr} is not a date", raw=value[:200])
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError as exc:
        raise ConnectorProtocolError(f"attribute {attr} is not a valid date", raw=value[:200]) from exc


def blocked_reason(value: str | None) -> str | None:
    """None for a card in good standing, else the reason the directory gives."""
    if value is None or value.lower() in _FALSE:
        return None
    if value.lower() in _TRUE:
        return "blocked"
    return value


def patron_from_entry(attrs: dict[str, list[bytes]], mapping: LdapAttributeMap, card: str) -> PatronRecord:
    """Build the PatronRecord of one entry; ``card`` is the normalised card typed by the patron."""
    values = EntryValues(attrs)
    name = next((v for v in (values.first(a) for a in mapping.name_attributes) if v), "")
    lost_value = values.first(mapping.lost)
    return PatronRecord(
        card=values.first(mapping.card) or card,
        name=name,
        email=values.first(mapping.email),
        birth_date=parse_directory_date(values.first(mapping.birth_date), mapping.birth_date or ""),
        category=values.first(mapping.category),
        expires=parse_directory_date(values.first(mapping.expires), mapping.expires or ""),
        blocked=blocked_reason(values.first(mapping.blocked)),
        lost=lost_value is not None and lost_value.lower() in _TRUE,
        home_branch=values.first(mapping.home_branch),
    )
