"""Service tickets: ``ST-`` + 48 hex characters, single use, bound to one service, 10 seconds.

The ticket's entry (keyed by the ticket's keyed hash) already holds what the
validation answers: the pairwise user and the released attributes, so that
``serviceValidate`` costs one state-store round trip and no query.
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass, field

PREFIX = "cas:st:"
_TICKET = re.compile(r"^ST-[0-9a-f]{48}$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class Ticket:
    service: str
    user: str
    attributes: dict[str, list[str]] = field(default_factory=dict)
    new_login: bool = False
    auth_time: int = 0


class TicketStore:
    def __init__(self, runtime) -> None:
        self.state = runtime.state
        self.lifetime = runtime.settings.cas_ticket_lifetime
        self._hash = runtime.keys.token_hash

    def issue(self, ticket: Ticket) -> str:
        value = f"ST-{secrets.token_hex(24)}"
        self.state.put(PREFIX + self._hash(value), {"s": ticket.service, "u": ticket.user, "a": ticket.attributes,
                                                    "n": ticket.new_login, "t": ticket.auth_time}, self.lifetime)
        return value

    @staticmethod
    def well_formed(value: str | None) -> bool:
        return bool(value) and bool(_TICKET.match(value))

    def take(self, value: str) -> Ticket | None:
        """The ticket, once: a second validation, or one after 10 seconds, finds nothing."""
        entry = self.state.take(PREFIX + self._hash(value))
        if entry is None:
            return None
        return Ticket(entry["s"], entry["u"], entry.get("a") or {}, bool(entry.get("n")), entry.get("t") or 0)


def same_service(issued: str, presented: str) -> bool:
    return hmac.compare_digest(issued.encode(), presented.encode())


def attributes_of(released: dict[str, list[str]]) -> dict[str, list[str]]:
    """Released attributes as CAS sends them (names usable as XML element names)."""
    return {name: list(values) for name, values in released.items() if _NAME.match(name) and values}
