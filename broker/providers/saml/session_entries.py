"""What each SAML supplier got in a patron session, for the next assertion and for single logout.

``session["saml"]`` maps a supplier's entity ID to the stored form of a
:class:`SessionEntry`: ``{"n": NameID, "f": NameID format, "s": SessionIndex,
"id": supplier id}``; ``f`` is left out for the persistent format (the usual one: the
session stays small), and an entry without it reads as persistent. :func:`read` skips any entry that is not as written (that
supplier is then as if it had not been visited), so a damaged session never
fails a request.
"""

from __future__ import annotations

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
