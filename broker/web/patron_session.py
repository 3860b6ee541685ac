"""The logged-in patron, as every blueprint sees it (portal, SAML, OIDC, CAS).

``session["patron"]`` holds ``{"uid", "library", "network", "at"}`` (``at`` =
login time, epoch seconds). Providers keep their own per-session data under
their own keys (``session["saml"]``…). Nothing about the card is kept.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from flask import redirect, request, session, url_for


@dataclass(frozen=True)
class LoggedPatron:
    uid: str
    library: str
    network: str
    at: float

    @property
    def age_seconds(self) -> float:
        return time.time() - self.at


def current_patron() -> LoggedPatron | None:
    data = session.get("patron")
    if not data:
        return None
    return LoggedPatron(data["uid"], data["library"], data["network"], data["at"])


def start(uid: str, library: str, network: str) -> None:
    """Log a patron in: fresh session id (no fixation), then the patron's data."""
    keep = {k: session[k] for k in ("lang", "library_choice") if k in session}
    session.clear()
    session.regenerate()  # type: ignore[attr-defined]
    session.update(keep)
    session["patron"] = {"uid": uid, "library": library, "network": network, "at": time.time()}


def end() -> None:
    """Log out: the server-side entry is deleted and the cookie cleared."""
    session.clear()
    session.regenerate()  # type: ignore[attr-defined]


def safe_next(target: str | None, default: str = "/") -> str:
    """Only same-site paths may be a ``next``: no open redirect."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def login_redirect(next_url: str | None = None, **params: str):
    """Send the patron to the login page, coming back to ``next_url`` (default: this request)."""
    target = next_url or request.full_path.rstrip("?")
    query = {"next": safe_next(target)}
    query.update({k: v for k, v in params.items() if v})
    return redirect(f"{url_for('portal.login')}?{urlencode(query)}")
