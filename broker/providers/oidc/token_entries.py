"""What the state store keeps for an authorization code, an access or refresh token (``oidc.tokens``).

Entries are small JSON objects with short keys; the records below are what
the code reads. Stored forms (``to_wire``)::

    code:           {"c": client id, "u": uid, "r": redirect URI, "s": scope, "t": auth time, "cl": claims,
                     "sid": session id, "n": nonce, "cc": PKCE challenge, "cm": its method}  (last four optional)
    access token:   {"c", "u", "s", "g": grant id, "t", "i": issued at, "e": expires at, "cl": claims}
    refresh token:  {"c", "u", "s", "g", "t", "i", "e", "sub": the claims' sub}
    used refresh:   {"g": grant id}

Times are epoch seconds. ``from_wire`` gives None for a value that is not as
written: the code or token is then unknown, like an expired one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...wire import is_int, is_str_or_none


def _claims_ok(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) for k in value)


@dataclass(frozen=True, slots=True)
class CodeEntry:
    """An authorization code waiting to be redeemed."""

    client_id: str
    uid: str
    redirect_uri: str | None
    scope: str
    auth_time: int
    claims: dict[str, Any] = field(default_factory=dict)
    #: the Sésame session's identifier for back-channel logout ("" outside a browser session)
    sid: str = ""
    nonce: str | None = None
    code_challenge: str | None = None
    code_challenge_method: str | None = None

    def to_wire(self) -> dict[str, Any]:
        data: dict[str, Any] = {"c": self.client_id, "u": self.uid, "r": self.redirect_uri, "s": self.scope,
                                "t": self.auth_time, "cl": self.claims}
        if self.sid:
            data["sid"] = self.sid
        if self.nonce:
            data["n"] = self.nonce
        if self.code_challenge:
            data["cc"] = self.code_challenge
            data["cm"] = self.code_challenge_method
        return data

    @classmethod
    def from_wire(cls, value: Any) -> CodeEntry | None:
        if not isinstance(value, dict):
            return None
        get = value.get
        if not (isinstance(get("c"), str) and isinstance(get("u"), str) and is_str_or_none(get("r"))
                and isinstance(get("s"), str) and is_int(get("t")) and _claims_ok(get("cl"))
                and isinstance(get("sid", ""), str) and is_str_or_none(get("n"))
                and is_str_or_none(get("cc")) and is_str_or_none(get("cm"))):
            return None
        challenge = get("cc") or None
        return cls(value["c"], value["u"], get("r"), value["s"], value["t"], value["cl"], get("sid", ""),
                   get("n") or None, challenge, get("cm") if challenge else None)


@dataclass(frozen=True, slots=True)
class TokenEntry:
    """An access token (with the claims released) or a refresh token (with the subject only)."""

    client_id: str
    uid: str
    scope: str
    #: the grant every token of one authorization shares (revoked all at once)
    grant: str
    auth_time: int
    issued_at: int
    expires_at: int
    #: access tokens: the claims released to the client (the UserInfo answer)
    claims: dict[str, Any] | None = None
    #: refresh tokens: the subject alone
    sub: str | None = None

    @property
    def subject(self) -> str | None:
        return (self.claims or {}).get("sub") or self.sub

    def to_wire(self) -> dict[str, Any]:
        data: dict[str, Any] = {"c": self.client_id, "u": self.uid, "s": self.scope, "g": self.grant,
                                "t": self.auth_time, "i": self.issued_at, "e": self.expires_at}
        if self.claims is not None:
            data["cl"] = self.claims
        if self.sub is not None:
            data["sub"] = self.sub
        return data

    @classmethod
    def from_wire(cls, value: Any) -> TokenEntry | None:
        if not isinstance(value, dict):
            return None
        get = value.get
        if not (isinstance(get("c"), str) and isinstance(get("u"), str) and isinstance(get("s"), str)
                and isinstance(get("g"), str) and is_int(get("t")) and is_int(get("i")) and is_int(get("e"))
                and (get("cl") is None or _claims_ok(get("cl"))) and is_str_or_none(get("sub"))):
            return None
        return cls(value["c"], value["u"], value["s"], value["g"], value["t"], value["i"], value["e"], get("cl"),
                   get("sub"))


@dataclass(frozen=True, slots=True)
class UsedRefresh:
    """A refresh token already exchanged: using it again revokes its grant."""

    grant: str

    def to_wire(self) -> dict[str, Any]:
        return {"g": self.grant}

    @classmethod
    def from_wire(cls, value: Any) -> UsedRefresh | None:
        if not (isinstance(value, dict) and isinstance(value.get("g"), str)):
            return None
        return cls(value["g"])
