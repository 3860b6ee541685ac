"""The demo suppliers' pages: what was received, what was not, and the error page."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from flask import current_app, g, render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext as L_
from sqlalchemy import select

from ..db.models import Library
from ..web.templating import Brand
from .kinds import Kind

TITLES = {"saml": L_("Fournisseur de démonstration SAML"),
          "oidc": L_("Fournisseur de démonstration OpenID Connect"),
          "cas": L_("Fournisseur de démonstration CAS")}
PROTOCOLS = {"saml": "SAML 2.0", "oidc": "OpenID Connect", "cas": "CAS 3.0"}
#: a colour of its own, so the demo supplier does not look like Sésame (contrast ≥ 4.5:1 with white)
COLOUR = "#2f5d3a"

#: attribute or claim names (lower case) that would carry what the page says was not received
NAME_KEYS = {"displayname", "name", "cn", "givenname", "given_name", "sn", "family_name",
             "urn:oid:2.16.840.1.113730.3.1.241", "urn:oid:2.5.4.3", "urn:oid:2.5.4.42", "urn:oid:2.5.4.4"}
EMAIL_KEYS = {"mail", "email", "urn:oid:0.9.2342.19200300.100.1.3"}
BIRTH_KEYS = {"birthyear", "birthdate", "schacyearofbirth", "urn:oid:1.3.6.1.4.1.25178.1.2.3"}


@dataclass(frozen=True)
class Value:
    name: str
    values: tuple[str, ...]


def received(protocol: str, identifier: str, identifier_label: str, values: list[tuple[str, list[str]]], *,
             library: str | None, network: str | None, detail: str = "") -> dict[str, Any]:
    """What a demo supplier keeps of a login (JSON-friendly, for its session)."""
    return {"protocol": protocol, "identifier": identifier, "identifier_label": identifier_label,
            "detail": detail, "values": [[n, [str(v) for v in vs]] for n, vs in values],
            "library": library or "", "network": network or "", "at": int(time.time())}


def not_received(data: dict[str, Any]) -> list[str]:
    """Plain words for what the supplier did not receive: never the card number nor the password."""
    names = {n.lower() for n, _v in data.get("values", [])}
    missing = [_("votre numéro de carte"), _("votre mot de passe ou code PIN")]
    if not names & NAME_KEYS:
        missing.append(_("vos nom et prénom"))
    if not names & EMAIL_KEYS:
        missing.append(_("votre adresse e-mail"))
    if not names & BIRTH_KEYS:
        missing.append(_("votre date de naissance"))
    return missing


def library_name(code: str) -> str | None:
    """The name of a library from its code (public information, as in the library search)."""
    if not code or len(code) > 64:
        return None
    with current_app.extensions["broker"].db.session() as session:
        return session.scalar(select(Library.name).where(Library.code == code))


def _brand(kind: Kind) -> None:
    g.brand = Brand(name=str(TITLES[kind.protocol]), primary=COLOUR, on_primary="#ffffff")


def render_received(kind: Kind, data: dict[str, Any], resource: str | None):
    _brand(kind)
    values = [Value(n, tuple(v)) for n, v in data.get("values", [])]
    return render_template(
        "demo_suppliers/received.html", kind=kind, title=TITLES[kind.protocol],
        protocol=PROTOCOLS[kind.protocol], data=data, values=values, resource=resource,
        library_code=data.get("library") or "", library_name=library_name(data.get("library") or ""),
        missing=not_received(data))


def render_error(kind: Kind, message: str, status: int = 400, detail: str = ""):
    _brand(kind)
    return render_template("demo_suppliers/error.html", kind=kind, title=TITLES[kind.protocol],
                           message=message, detail=detail), status
