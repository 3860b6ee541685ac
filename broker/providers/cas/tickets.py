"""Service tickets: ``ST-`` + 48 hex characters, single use, bound to one service, 10 seconds.

The ticket's entry (keyed by the ticket's keyed hash) already holds what the
validation answers: the pairwise user and the released attributes, so that
``serviceValidate`` costs one state-store round trip and no query. Stored form
(:meth:`Ticket.to_wire`): ``{"s": service URL, "u": user, "a": attributes,
"n": from a new login, "t": login time}``; an entry that is not as written
validates like an unknown ticket.
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ...wire import is_int

if TYPE_CHECKING:
    from ...runtime import Runtime

PREFIX = "cas:st:"
_TICKET = re.compile(r"^ST-[0-9a-f]{48}$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True, slots=True)
class Ticket:
    service: str
    user: str
    attributes: dict[str, list[str]] = field(default_factory=dict)
    new_login: bool = False
    auth_time: int = 0

    def to_wire(self) -> dict[str, Any]:
        return {"s": self.service, "u": self.user, "a": self.attributes, "n": self.new_login, "t": self.auth_time}

    @classmethod
    def from_wire(cls, value: Any) -> Ticket | None:
        """The ticket ``value`` holds, or None when anything in it is not as written."""
        if not isinstance(value, dict):
            return None
        service, user, attributes = value.get("s"), value.get("u"), value.get("a") or {}
        new_login, auth_time = value.get("n", False), value.get("t") or 0
        if not (isinstance(service, str) and isinstance(user, str) and isinstance(new_login, bool)
                and is_int(auth_time) and _attributes_ok(attributes)):
            return None
        return cls(service, user, attributes, new_login, auth_time)


def _attributes_ok(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(name, str) and isinstance(values, list) and all(isinstance(v, str) for v in values)
        for name, values in value.items())


class TicketStore:
    def __init__(self, runtime: Runtime) -> None:
        self.state = runtime.state
        self.lifetime = runtime.settings.cas_ticket_lifetime
        self._hash = runtime.keys.token_hash

    def issue(self, ticket: Ticket) -> str:
        value = f"ST-{secrets.token_hex(24)}"
        self.state.put(PREFIX + self._hash(value), ticket.to_wire(), self.lifetime)
        return value

    @staticmethod
    def well_formed(value: str | None) -> bool:
        return bool(value) and bool(_TICKET.match(value))

    def take(self, value: str) -> Ticket | None:
        """The ticket, once: a second validation, or one after 10 seconds, finds nothing."""
        return Ticket.from_wire(self.state.take(PREFIX + self._hash(value)))


def same_service(issued: str, presented: str) -> bool:
    return hmac.compare_digest(issued.encode(), presented.encode())


def attributes_of(released: dict[str, list[str]]) -> dict[str, list[str]]:
    """Released attributes as CAS sends them (names usable as XML element names)."""
    return {name: list(values) for name, values in released.items() if _NAME.match(name) and values}
