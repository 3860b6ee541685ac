"""Turning Koha's patron object (``definitions/patron.yaml``) into a PatronRecord."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from broker.domain.connectors import ConnectorProtocolError
from broker.domain.patrons import PatronRecord, mask_card

#: what ``blocked`` says for a patron Koha marks ``restricted`` (a debarment)
RESTRICTED = "restricted"


def _raw(patron: Any) -> str:
    """The start of a Koha object for an error report, its card number masked."""
    if isinstance(patron, dict) and isinstance(patron.get("cardnumber"), str):
        patron = {**patron, "cardnumber": mask_card(patron["cardnumber"])}
    return json.dumps(patron, ensure_ascii=False, default=str)[:500]


def _text(patron: dict[str, Any], key: str) -> str | None:
    value = patron.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConnectorProtocolError(f"Koha's patron field {key} is not a string", raw=_raw(patron))
    return value.strip() or None


def _date(patron: dict[str, Any], key: str) -> date | None:
    value = _text(patron, key)
    if value is None:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError as exc:
        raise ConnectorProtocolError(f"Koha's patron field {key} is not a date", raw=value[:100]) from exc


def _flag(patron: dict[str, Any], key: str) -> bool:
    value = patron.get(key)
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if value in (0, 1):  # older Koha versions send 0/1
        return bool(value)
    raise ConnectorProtocolError(f"Koha's patron field {key} is not a boolean", raw=_raw(patron))


def patron_id_of(data: Any) -> int:
    """The ``patron_id`` of a Koha object, checked."""
    value = data.get("patron_id") if isinstance(data, dict) else None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConnectorProtocolError("Koha's answer has no valid patron_id", raw=_raw(data))
    return value


def patron_from_koha(patron: Any, card: str) -> PatronRecord:
    """Build the PatronRecord of a Koha patron object; ``card`` is the normalised typed card."""
    if not isinstance(patron, dict):
        raise ConnectorProtocolError("Koha's patron is not a JSON object", raw=_raw(patron))
    first = _text(patron, "preferred_name") or _text(patron, "firstname")
    names = [n for n in (first, _text(patron, "surname")) if n]
    restricted = _flag(patron, "restricted")
    return PatronRecord(
        card=_text(patron, "cardnumber") or card,
        name=" ".join(names),
        email=_text(patron, "email"),
        birth_date=_date(patron, "date_of_birth"),
        category=_text(patron, "category_id"),
        expires=_date(patron, "expiry_date"),
        blocked=RESTRICTED if restricted else None,
        lost=_flag(patron, "patron_card_lost"),
        home_branch=_text(patron, "library_id"),
        extra={"koha_patron_id": str(patron_id_of(patron))},
    )
