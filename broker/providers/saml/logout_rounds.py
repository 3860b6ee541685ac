"""A single-logout round in progress: the suppliers still to visit, and where the round ends.

Kept in the state store under ``saml:slo:<key>`` (the key travels as
RelayState). Stored form (:meth:`LogoutRound.to_wire`)::

    {"queue": [{"entity": entity ID, "n", "f", "s", "id"}, ...],   # a session entry each
     "origin": {"entity", "id", "relay"} | null,                    # the supplier that asked, if any
     "final": URL | null, "partial": bool, "waiting": LogoutRequest ID | null}

A stored value that is not as written reads as None: the round is over.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...wire import is_str_or_none
from .session_entries import SessionEntry


@dataclass(frozen=True, slots=True)
class LogoutStop:
    """One supplier of the round and what it was given in the session."""

    entity_id: str
    entry: SessionEntry

    def to_wire(self) -> dict[str, Any]:
        return {"entity": self.entity_id, **self.entry.to_wire()}

    @classmethod
    def from_wire(cls, value: Any) -> LogoutStop | None:
        if not (isinstance(value, dict) and isinstance(value.get("entity"), str)):
            return None
        entry = SessionEntry.from_wire(value)
        return cls(value["entity"], entry) if entry is not None else None


@dataclass(frozen=True, slots=True)
class LogoutOrigin:
    """The supplier whose LogoutRequest started the round: it gets the LogoutResponse at the end."""

    entity_id: str
    request_id: str
    relay_state: str | None

    def to_wire(self) -> dict[str, Any]:
        return {"entity": self.entity_id, "id": self.request_id, "relay": self.relay_state}

    @classmethod
    def from_wire(cls, value: Any) -> LogoutOrigin | None:
        if not (isinstance(value, dict) and isinstance(value.get("entity"), str) and isinstance(value.get("id"), str)
                and is_str_or_none(value.get("relay"))):
            return None
        return cls(value["entity"], value["id"], value.get("relay"))


@dataclass(frozen=True, slots=True)
class LogoutRound:
    queue: tuple[LogoutStop, ...]
    #: None for a round started by Sésame (the portal's logout)
    origin: LogoutOrigin | None = None
    #: where the browser goes at the end of a round without origin
    final: str | None = None
    #: a supplier did not confirm its logout
    partial: bool = False
    #: the ID of the LogoutRequest the current supplier should answer
    waiting: str | None = None

    def to_wire(self) -> dict[str, Any]:
        return {"queue": [stop.to_wire() for stop in self.queue],
                "origin": self.origin.to_wire() if self.origin is not None else None,
                "final": self.final, "partial": self.partial, "waiting": self.waiting}

    @classmethod
    def from_wire(cls, value: Any) -> LogoutRound | None:
        """The round ``value`` holds, or None when anything in it is not as written."""
        if not (isinstance(value, dict) and isinstance(value.get("queue"), list)
                and is_str_or_none(value.get("final")) and isinstance(value.get("partial"), bool)
                and is_str_or_none(value.get("waiting"))):
            return None
        queue = []
        for item in value["queue"]:
            stop = LogoutStop.from_wire(item)
            if stop is None:
                return None
            queue.append(stop)
        origin = None
        if value.get("origin") is not None:
            origin = LogoutOrigin.from_wire(value["origin"])
            if origin is None:
                return None
        return cls(tuple(queue), origin, value.get("final"), value["partial"], value.get("waiting"))
