"""Pseudonymous identifiers: what suppliers and statistics see instead of a person."""

from __future__ import annotations

import base64
import hashlib
import hmac


def _digest(key: bytes, *parts: str) -> bytes:
    return hmac.new(key, "\x1f".join(parts).encode(), hashlib.sha256).digest()


def pairwise_id(key: bytes, uid: str, sector: str) -> str:
    """The stable identifier of patron ``uid`` for one supplier (its sector).

    Same patron and sector → same value; another sector → an unrelated value.
    32 characters from ``[a-z2-7]``: usable as a SAML persistent NameID, the
    unique part of a ``pairwise-id``, an OIDC pairwise ``sub`` and a CAS user.
    """
    return base64.b32encode(_digest(key, "pairwise", sector, uid)[:20]).decode().lower()


def card_digest(key: bytes, library_code: str, card: str) -> str:
    """A keyed digest that finds a (library, card) without storing the card number."""
    return _digest(key, "card", library_code, card).hex()


def event_key(key: bytes, uid: str) -> str:
    """The pseudonymous patron key written on usage events."""
    return _digest(key, "event", uid)[:16].hex()
