"""The logged-in patron, as every blueprint sees it (portal, SAML, OIDC, CAS).

``session["patron"]`` holds ``{"uid", "library", "network", "at", "f"}``
(``at`` = login time, epoch seconds; ``f`` = the access decision's snapshot of
the patron, see ``services.patron_cache``: membership state, card validity,
no name, e-mail or card). Providers keep their own per-session data under
their own keys (``session["saml"]``…). Nothing about the card is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from flask import redirect, request, session, url_for

from .redirects import same_site_path


@dataclass(frozen=True)
class LoggedPatron:
    uid: str
    library: str
    network: str
    at: float
    #: the access decision's snapshot of the patron (``services.patron_cache``), if any
    facts: dict | None = None

    def age_at(self, now: float) -> float:
        """Seconds since the login, at ``now`` (epoch seconds, from the runtime's clock)."""
        return now - self.at


def current_patron() -> LoggedPatron | None:
    data = session.get("patron")
    if not data:
        return None
    return LoggedPatron(data["uid"], data["library"], data["network"], data["at"], data.get("f"))


def check_access(runtime, db_session, patron: LoggedPatron, supplier):
    """The access decision for the logged-in ``patron``, using and refreshing the session's snapshot."""
    from ..services import access

    outcome = access.check(runtime, db_session, patron.uid, supplier, patron.facts)
    data = session.get("patron")
    if outcome.snapshot is not None and data and data.get("uid") == patron.uid:
        session["patron"] = {**data, "f": outcome.snapshot}
    return outcome


def start(uid: str, library: str, network: str, facts: dict | None = None, *, at: float) -> None:
    """Log a patron in at ``at`` (epoch seconds): fresh session id (no fixation), then the patron's data."""
    keep = {k: session[k] for k in ("lang", "library_choice") if k in session}
    session.clear()
    session.regenerate()  # type: ignore[attr-defined]
    session.update(keep)
    data = {"uid": uid, "library": library, "network": network, "at": at}
    if facts is not None:
        data["f"] = facts
    session["patron"] = data


def end() -> None:
    """Log out: the server-side entry is deleted and the cookie cleared."""
    session.clear()
    session.regenerate()  # type: ignore[attr-defined]


def safe_next(target: str | None, default: str = "/") -> str:
    """Only same-site paths may be a ``next`` (no open redirect), checked as they will be sent."""
    return same_site_path(target, default)


def login_redirect(next_url: str | None = None, **params: str):
    """Send the patron to the login page, coming back to ``next_url`` (default: this request)."""
    target = next_url or request.full_path.rstrip("?")
    query = {"next": safe_next(target)}
    query.update({k: v for k, v in params.items() if v})
    return redirect(f"{url_for('portal.login')}?{urlencode(query)}")
