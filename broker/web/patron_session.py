"""The logged-in patron, as every blueprint sees it (portal, SAML, OIDC, CAS).

``session["patron"]`` holds :meth:`LoggedPatron.to_wire`:
``{"u": uid, "l": library, "n": network, "t": login time, "f"}`` (epoch seconds,
to the millisecond; sessions written before hold ``uid``, ``library``, ``network``
and ``at``, still read; ``f`` = the access decision's snapshot of the patron, see
``services.patron_snapshot``: membership state, card validity, no name, e-mail
or card; its read time is written from ``t``). Providers keep their own per-session data under their own keys
(``session["saml"]``…). Nothing about the card is kept.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import wraps
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from flask import redirect, request, session, url_for

from ..services.patron_snapshot import PatronSnapshot
from ..wire import is_number
from .redirects import same_site_path

if TYPE_CHECKING:
    from ..runtime import Runtime


@dataclass(frozen=True, slots=True)
class LoggedPatron:
    uid: str
    library: str
    network: str
    at: float
    #: the access decision's snapshot of the patron (``services.patron_snapshot``), if any
    facts: PatronSnapshot | None = None

    def age_at(self, now: float) -> float:
        """Seconds since the login, at ``now`` (epoch seconds, from the runtime's clock)."""
        return now - self.at

    def to_wire(self) -> dict[str, Any]:
        data: dict[str, Any] = {"u": self.uid, "l": self.library, "n": self.network, "t": self.at}
        if self.facts is not None:
            data["f"] = self.facts.to_wire(self.at)
        return data

    @classmethod
    def from_wire(cls, value: Any) -> LoggedPatron | None:
        """The logged-in patron ``value`` holds, or None (not logged in) when it is not as written.

        A damaged snapshot alone only means the patron is read again: the patron stays logged in.
        """
        if not isinstance(value, dict):
            return None
        names = ("u", "l", "n", "t") if "u" in value else ("uid", "library", "network", "at")
        uid, library, network, at = (value.get(k) for k in names)
        if not (isinstance(uid, str) and uid and isinstance(library, str) and isinstance(network, str)
                and is_number(at)):
            return None
        facts = value.get("f")
        return cls(uid, library, network, at, PatronSnapshot.from_wire(facts, at) if facts is not None else None)


def current_patron() -> LoggedPatron | None:
    return LoggedPatron.from_wire(session.get("patron"))


def check_access(runtime: Runtime, db_session, patron: LoggedPatron, supplier):
    """The access decision for the logged-in ``patron``, using and refreshing the session's snapshot."""
    from ..services import access

    outcome = access.check(runtime, db_session, patron.uid, supplier, patron.facts)
    if outcome.snapshot is not None:
        logged = current_patron()
        if logged is not None and logged.uid == patron.uid:
            session["patron"] = replace(logged, facts=outcome.snapshot).to_wire()
    return outcome


def start(uid: str, library: str, network: str, facts: PatronSnapshot | None = None, *, at: float) -> None:
    """Log a patron in at ``at`` (epoch seconds): fresh session id (no fixation), then the patron's data."""
    keep = {k: session[k] for k in ("lang", "library_choice") if k in session}
    session.clear()
    session.regenerate()  # type: ignore[attr-defined]  # Flask types session as SessionMixin; ours is a StateSession
    session.update(keep)
    # to the millisecond, rounded up: never earlier than the login (a fresh-login marker compares with it)
    at = math.ceil(at * 1000) / 1000
    session["patron"] = LoggedPatron(uid, library, network, at, facts).to_wire()


def end() -> None:
    """Log out: the server-side entry is deleted and the cookie cleared."""
    session.clear()
    session.regenerate()  # type: ignore[attr-defined]  # Flask types session as SessionMixin; ours is a StateSession


def safe_next(target: str | None, default: str = "/") -> str:
    """Only same-site paths may be a ``next`` (no open redirect), checked as they will be sent."""
    return same_site_path(target, default)


def login_redirect(next_url: str | None = None, **params: str):
    """Send the patron to the login page, coming back to ``next_url`` (default: this request)."""
    target = next_url or request.full_path.rstrip("?")
    query = {"next": safe_next(target)}
    query.update({k: v for k, v in params.items() if v})
    return redirect(f"{url_for('portal.login')}?{urlencode(query)}")


def patron_view(view: Callable[..., Any]) -> Callable[..., Any]:
    """A page for the logged-in patron, called as ``view(patron, **kwargs)``; anyone else goes to the login
    page, coming back to this one."""

    @wraps(view)
    def wrapper(**kwargs: Any) -> Any:
        patron = current_patron()
        if patron is None:
            return login_redirect()
        return view(patron, **kwargs)

    return wrapper
