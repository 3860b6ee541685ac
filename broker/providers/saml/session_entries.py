"""What each SAML supplier got in a patron session, for the next assertion and for single logout.

A :class:`SessionEntry`'s stored form is ``{"n": NameID, "f": NameID format,
"s": SessionIndex, "id": supplier id}``; ``f`` is left out for the persistent
format (the usual one), and an entry without it reads as persistent. A map of
entries (entity ID → entry, as pending requests carry them: :func:`write`,
:func:`read`) keeps that form under each entity ID.

``session["saml"]`` keeps the same entries keyed by supplier id, the id left out
of each entry (:func:`write_session`: ``{"<supplier id>": {"n", "s", "f"?}}``),
so that no entity ID, often a long URL, is stored per session; :func:`read_session`
gives them back under the supplier's current entity ID, and reads the earlier
form (entity ID → entry with its ``id``) too. Both readers skip any entry that is
not as written, and the session reader the suppliers no longer enabled (that
supplier is then as if it had not been visited), so a damaged session never
fails a request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ...wire import is_int, is_str_or_none
from .names import NAMEID_PERSISTENT


@dataclass(frozen=True, slots=True)
class SessionEntry:
    """The NameID and SessionIndex one supplier was given in this session."""

    name_id: str
    name_format: str
    session_index: str | None
    supplier_id: int

    def to_wire(self) -> dict[str, Any]:
        if self.name_format == NAMEID_PERSISTENT:
            return {"n": self.name_id, "s": self.session_index, "id": self.supplier_id}
        return {"n": self.name_id, "f": self.name_format, "s": self.session_index, "id": self.supplier_id}

    @classmethod
    def from_wire(cls, value: Any) -> SessionEntry | None:
        if not isinstance(value, dict):
            return None
        name_id, name_format, index, supplier_id = value.get("n"), value.get("f", NAMEID_PERSISTENT), value.get("s"), value.get("id")
        if not (isinstance(name_id, str) and isinstance(name_format, str) and is_str_or_none(index)
                and is_int(supplier_id)):
            return None
        return cls(name_id, name_format, index, value["id"])


def read(value: Any) -> dict[str, SessionEntry]:
    """The entries of a session's ``saml`` value (entity ID → entry), the damaged ones left out."""
    if not isinstance(value, dict):
        return {}
    entries = {}
    for entity, wire in value.items():
        entry = SessionEntry.from_wire(wire)
        if isinstance(entity, str) and entry is not None:
            entries[entity] = entry
    return entries


def write(entries: dict[str, SessionEntry]) -> dict[str, dict[str, Any]]:
    """The stored form of ``entries`` for ``session["saml"]``."""
    return {entity: entry.to_wire() for entity, entry in entries.items()}


def write_session(entries: dict[str, SessionEntry]) -> dict[str, dict[str, Any]]:
    """The stored form of ``entries`` for ``session["saml"]``: keyed by supplier id, without the id."""
    out: dict[str, dict[str, Any]] = {}
    for entry in entries.values():
        wire = entry.to_wire()
        del wire["id"]
        out[str(entry.supplier_id)] = wire
    return out


def read_session(value: Any, entity_of: Callable[[int], str | None]) -> dict[str, SessionEntry]:
    """The entries of ``session["saml"]`` (entity ID → entry); ``entity_of``: a supplier's current entity ID,
    None when it is no longer an enabled SAML supplier (its entry is then left out)."""
    if not isinstance(value, dict):
        return {}
    entries = {}
    for key, wire in value.items():
        if not isinstance(key, str):
            continue
        if key.isdigit() and key.isascii() and len(key) < 20:  # keyed by supplier id (what is written now)
            if not isinstance(wire, dict) or "id" in wire:
                continue
            entry = SessionEntry.from_wire({**wire, "id": int(key)})
            entity = entity_of(int(key)) if entry is not None else None
        else:  # keyed by entity ID, written by an earlier version
            entry = SessionEntry.from_wire(wire)
            entity = key
        if entry is not None and entity:
            entries[entity] = entry
    return entries
