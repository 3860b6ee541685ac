"""An AuthnRequest (or unsolicited request) waiting for the patron to log in.

Kept in the state store under ``saml:pending:<key>``; only the key travels in
the login page's ``next`` URL. Stored form (:meth:`PendingRequest.to_wire`)::

    {"sp": supplier id, "entity": entity ID, "id": request ID | null, "acs": ACS URL,
     "relay": RelayState | null, "force": ForceAuthn, "passive": IsPassive,
     "fmt": NameID format asked | null, "at": epoch seconds, "keep": {"uid", "saml"} (optional)}

A stored value that is not as written reads as None: the request has expired.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...wire import is_int, is_str_or_none, is_time
from . import session_entries
from .session_entries import SessionEntry


@dataclass(frozen=True, slots=True)
class CarriedSession:
    """A forced re-login starts a new session: the suppliers of the old one, carried over for single logout."""

    uid: str
    entries: dict[str, SessionEntry] = field(default_factory=dict)

    def to_wire(self) -> dict[str, Any]:
        return {"uid": self.uid, "saml": session_entries.write(self.entries)}

    @classmethod
    def from_wire(cls, value: Any) -> CarriedSession | None:
        if not (isinstance(value, dict) and isinstance(value.get("uid"), str)):
            return None
        return cls(value["uid"], session_entries.read(value.get("saml")))


@dataclass(frozen=True, slots=True)
class PendingRequest:
    supplier_id: int
    entity_id: str
    #: the AuthnRequest's ID (None for an unsolicited response)
    request_id: str | None
    acs_url: str
    relay_state: str | None
    force_authn: bool
    passive: bool
    #: the NameID format the request asked for, if any
    nameid_format: str | None
    #: when the request arrived, epoch seconds
    at: float
    carried: CarriedSession | None = None

    def to_wire(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "sp": self.supplier_id, "entity": self.entity_id, "id": self.request_id, "acs": self.acs_url,
            "relay": self.relay_state, "force": self.force_authn, "passive": self.passive,
            "fmt": self.nameid_format, "at": self.at}
        if self.carried is not None:
            data["keep"] = self.carried.to_wire()
        return data

    @classmethod
    def from_wire(cls, value: Any) -> PendingRequest | None:
        """The request ``value`` holds, or None when anything in it is not as written."""
        if not isinstance(value, dict):
            return None
        get = value.get
        if not (is_int(get("sp")) and isinstance(get("entity"), str) and is_str_or_none(get("id"))
                and isinstance(get("acs"), str) and is_str_or_none(get("relay"))
                and isinstance(get("force"), bool) and isinstance(get("passive"), bool)
                and is_str_or_none(get("fmt")) and is_time(get("at"))):
            return None
        carried = None
        if get("keep") is not None:
            carried = CarriedSession.from_wire(get("keep"))
            if carried is None:
                return None
        return cls(value["sp"], value["entity"], get("id"), value["acs"], get("relay"), value["force"],
                   value["passive"], get("fmt"), value["at"], carried)
