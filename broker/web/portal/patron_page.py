"""What every patron page needs: the library in play, its network's branding, small form helpers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from flask import current_app, g, request

from ..patron_session import current_patron
from ..templating import Brand

LIBRARY_COOKIE = "library"
LIBRARY_COOKIE_AGE = 365 * 24 * 3600
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class LibraryView:
    """A library as the patron pages show it (plain values: safe after the DB session ends)."""

    code: str
    name: str
    commune: str
    network: str
    network_name: str
    registration: str = "referent"
    address: str = ""
    contact_email: str = ""
    contact_phone: str = ""
    website: str = ""
    network_contact_email: str = ""
    branding: dict = field(default_factory=dict, hash=False, compare=False)

    @classmethod
    def from_row(cls, lib) -> LibraryView:
        network = lib.partner.network
        return cls(code=lib.code, name=lib.name, commune=lib.commune or "", network=network.slug,
                   network_name=network.name, registration=lib.registration, address=lib.address or "",
                   contact_email=lib.contact_email or "", contact_phone=lib.contact_phone or "",
                   website=lib.website if (lib.website or "").startswith(("https://", "http://")) else "",
                   network_contact_email=network.contact_email or "", branding=dict(network.branding or {}))

    @property
    def brand(self) -> Brand:
        return Brand.from_network(self.network_name, self.branding)


def runtime():
    return current_app.extensions["broker"]


def valid_code(value: str | None) -> str | None:
    value = (value or "").strip()
    return value if _CODE.match(value) else None


def load_library(code: str | None) -> LibraryView | None:
    """The library with this code, or None for a missing, malformed or unknown code."""
    code = valid_code(code)
    if code is None:
        return None
    row = runtime().libraries.by_code(code)  # shared by the requests: no query while it holds
    return LibraryView.from_row(row) if row is not None else None


def chosen_library() -> LibraryView | None:
    """The library of this page: the logged-in patron's, else the one remembered in the cookie."""
    if "portal_library" not in g:
        patron = current_patron()
        code = patron.library if patron else request.cookies.get(LIBRARY_COOKIE)
        g.portal_library = load_library(code)
    return g.portal_library


def apply_brand(library: LibraryView | None) -> None:
    if library is not None:
        g.brand = library.brand


def remember_library(response, code: str) -> None:
    response.set_cookie(LIBRARY_COOKIE, code, max_age=LIBRARY_COOKIE_AGE, httponly=True,
                        secure=runtime().settings.secure_cookies, samesite="Lax")


def client_ip() -> str:
    return request.remote_addr or "unknown"
