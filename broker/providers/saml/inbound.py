"""Incoming SAML messages: decoding the bindings, reading requests and responses from suppliers.

Fields are read only from the root element, after its signature (if any) was
checked on that same element: nothing elsewhere in the document counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from lxml import etree

from .names import BINDING_POST, BINDING_REDIRECT, SAML, SAMLP, XENC
from .xmlsafe import SamlInputError, b64decode, inflate, parse, text_of

#: how old an incoming request may be, plus the allowance for the supplier's clock
MESSAGE_LIFETIME = timedelta(minutes=5)
CLOCK_SKEW = timedelta(minutes=3)
MAX_RELAY_STATE = 1024
#: characters a RelayState (sent back in an auto-POST form field) may not hold
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def check_relay_state(relay: str | None, what: str = "RelayState") -> str | None:
    """A RelayState the broker will send back as it came: short, without control characters."""
    if relay is None:
        return None
    if len(relay) > MAX_RELAY_STATE:
        raise SamlInputError(f"{what} too long (at most {MAX_RELAY_STATE} characters)")
    if _CONTROL.search(relay):
        raise SamlInputError(f"{what} contains control characters")
    return relay


@dataclass(frozen=True, slots=True)
class Received:
    """A decoded message, before its signature is checked."""

    root: etree._Element
    binding: str
    param: str  # SAMLRequest or SAMLResponse
    relay_state: str | None
    query_string: bytes

    @property
    def kind(self) -> str:
        return etree.QName(self.root).localname

    @property
    def issuer(self) -> str:
        return text_of(self.root.find(f"{{{SAML}}}Issuer"))


def receive(method: str, args: Any, form: Any, query_string: bytes) -> Received:
    """Decode a request or response sent with the HTTP-Redirect (GET) or HTTP-POST binding."""
    source = args if method == "GET" else form
    param = next((p for p in ("SAMLRequest", "SAMLResponse") if source.get(p)), None)
    if param is None:
        raise SamlInputError("no SAMLRequest or SAMLResponse in the request")
    relay = check_relay_state(source.get("RelayState"))
    data = b64decode(source[param], what=param)
    if method == "GET":
        root = parse(inflate(data, what=param), what=param)
        binding = BINDING_REDIRECT
    else:
        root = parse(data, what=param)
        binding = BINDING_POST
    if etree.QName(root).namespace != SAMLP:
        raise SamlInputError(f"{param}: not a SAML 2.0 protocol message")
    return Received(root, binding, param, relay, query_string)


def _instant(value: str | None, what: str) -> datetime:
    if not value:
        raise SamlInputError(f"{what} is missing")
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise SamlInputError(f"{what} is not a date-time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _common(root: etree._Element, expected: str) -> tuple[str, datetime]:
    if etree.QName(root).localname != expected:
        raise SamlInputError(f"expected a {expected}, got {etree.QName(root).localname}")
    if root.get("Version") != "2.0":
        raise SamlInputError("only SAML 2.0 messages are accepted")
    msg_id = root.get("ID") or ""
    if not msg_id or len(msg_id) > 256:
        raise SamlInputError("the message has no usable ID")
    return msg_id, _instant(root.get("IssueInstant"), "IssueInstant")


def check_fresh(issued: datetime, now: datetime) -> datetime:
    """Refuse a message from the future or too old; returns when its ID may be forgotten."""
    if issued > now + CLOCK_SKEW:
        raise SamlInputError("the message is dated in the future (check the supplier's clock)")
    if issued < now - MESSAGE_LIFETIME - CLOCK_SKEW:
        raise SamlInputError("the message is too old")
    return issued + MESSAGE_LIFETIME + CLOCK_SKEW


def _bool(value: str | None, what: str) -> bool:
    if value is None:
        return False
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    raise SamlInputError(f"{what} is not a boolean")


@dataclass(frozen=True, slots=True)
class AuthnRequest:
    id: str
    issuer: str
    issue_instant: datetime
    destination: str | None
    acs_url: str | None
    acs_index: int | None
    protocol_binding: str | None
    force_authn: bool
    is_passive: bool
    nameid_format: str | None


def authn_request(root: etree._Element, issuer: str) -> AuthnRequest:
    msg_id, issued = _common(root, "AuthnRequest")
    index = root.get("AssertionConsumerServiceIndex")
    try:
        acs_index = int(index) if index is not None else None
    except ValueError:
        raise SamlInputError("AssertionConsumerServiceIndex is not a number") from None
    policy = root.find(f"{{{SAMLP}}}NameIDPolicy")
    return AuthnRequest(
        id=msg_id, issuer=issuer, issue_instant=issued, destination=root.get("Destination"),
        acs_url=root.get("AssertionConsumerServiceURL"), acs_index=acs_index,
        protocol_binding=root.get("ProtocolBinding"),
        force_authn=_bool(root.get("ForceAuthn"), "ForceAuthn"),
        is_passive=_bool(root.get("IsPassive"), "IsPassive"),
        nameid_format=policy.get("Format") if policy is not None else None,
    )


@dataclass(frozen=True, slots=True)
class LogoutRequest:
    id: str
    issuer: str
    issue_instant: datetime
    destination: str | None
    not_on_or_after: datetime | None
    name_id: str
    session_indexes: tuple[str, ...]


def logout_request(root: etree._Element, issuer: str, decrypt=None) -> LogoutRequest:
    """Read a LogoutRequest; ``decrypt(encrypted_data)`` opens an EncryptedID when one is sent."""
    msg_id, issued = _common(root, "LogoutRequest")
    name_el = root.find(f"{{{SAML}}}NameID")
    if name_el is None:
        encrypted = root.find(f"{{{SAML}}}EncryptedID/{{{XENC}}}EncryptedData")
        if encrypted is not None and decrypt is not None:
            name_el = decrypt(encrypted)
            if etree.QName(name_el).localname != "NameID":
                raise SamlInputError("the EncryptedID does not hold a NameID")
    if name_el is None:
        raise SamlInputError("the LogoutRequest names no NameID")
    until = root.get("NotOnOrAfter")
    return LogoutRequest(
        id=msg_id, issuer=issuer, issue_instant=issued, destination=root.get("Destination"),
        not_on_or_after=_instant(until, "NotOnOrAfter") if until else None, name_id=text_of(name_el),
        session_indexes=tuple(text_of(e) for e in root.findall(f"{{{SAMLP}}}SessionIndex")),
    )


@dataclass(frozen=True, slots=True)
class LogoutResponse:
    id: str
    issuer: str
    in_response_to: str
    status: str


def logout_response(root: etree._Element, issuer: str) -> LogoutResponse:
    msg_id, _ = _common(root, "LogoutResponse")
    code = root.find(f"{{{SAMLP}}}Status/{{{SAMLP}}}StatusCode")
    return LogoutResponse(id=msg_id, issuer=issuer, in_response_to=root.get("InResponseTo") or "",
                          status=code.get("Value", "") if code is not None else "")
