"""What the OIDC and CAS pages share with the patron portal: login, refusal, logout.

Providers hand the patron to the portal's login page and show its refusal
page; a forced login (OIDC ``prompt=login``/``max_age``, CAS ``renew``) is
proven by a signed "log in after" time carried in the return URL, so a patron
cannot skip it by editing the address.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from flask import render_template, request

from ..web import patron_session
from ..web.portal import render_refusal
from ..web.portal.auth import end_session

if TYPE_CHECKING:
    from ..runtime import Runtime

_LIBRARY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
#: the query parameter carrying the signed time after which the login must have happened
FRESH = "fresh"
#: a marker older than this proves nothing any more (an old return URL replayed)
FRESH_WINDOW = 600


def _mac(key: bytes, text: str) -> str:
    return base64.urlsafe_b64encode(hmac.new(key, text.encode(), hashlib.sha256).digest()[:12]).decode().rstrip("=")


def fresh_marker(runtime: Runtime, since: float | None = None) -> str:
    """A signed "log in after this instant" (milliseconds, so that a login a moment later counts)."""
    stamp = str(int((since if since is not None else runtime.clock.wall()) * 1000))
    return f"{stamp}.{_mac(runtime.keys.mac_keys('fresh-login')[0], stamp)}"


def fresh_since(runtime: Runtime, value: str | None) -> float | None:
    """The time a signed marker asks the login to be newer than, or None if absent, stale or forged."""
    if not value or len(value) > 64:
        return None
    stamp, _, mac = value.partition(".")
    if not stamp.isdigit() or len(stamp) > 15:
        return None
    if not any(hmac.compare_digest(mac, _mac(key, stamp)) for key in runtime.keys.mac_keys("fresh-login")):
        return None  # signed with none of the instance's keys (newest first, older ones until removed)
    since = int(stamp) / 1000
    if runtime.clock.wall() - since > FRESH_WINDOW:
        return None
    return since


def send_to_login(next_url: str, *, renew: bool = False, library: str | None = None, lang: str | None = None):
    """The portal's login page, back to ``next_url`` afterwards (``renew`` shows the form even if logged in)."""
    params: dict[str, str] = {}
    if renew:
        params["renew"] = "1"
    if library and _LIBRARY.match(library):
        params["library"] = library
    if lang in ("fr", "en"):
        params["lang"] = lang
    return patron_session.login_redirect(next_url, **params)


def error_page(status: int, code: str, message: str, *, template: str = "error.html"):
    from flask_babel import gettext as _

    titles = {400: _("La demande n'est pas valide"), 403: _("Accès interdit"),
              503: _("Service momentanément indisponible")}
    return render_template(template, status=status, title=titles.get(status, _("Erreur")), message=message,
                           code=code), status


def refusal_page(outcome):
    """The portal's refusal page for an access decision (the same page as ``/go``)."""
    return render_refusal(outcome)


def end_patron_session() -> None:
    """Log the patron out everywhere: the ``broker_patron_logout`` hooks, then the session."""
    end_session()


def preferred_lang(ui_locales: str | None) -> str | None:
    for tag in (ui_locales or "").split():
        base = tag.split("-")[0].lower()
        if base in ("fr", "en"):
            return base
    return None


def with_params(path: str, pairs: list[tuple[str, str]]) -> str:
    return f"{path}?{urlencode(pairs)}" if pairs else path


def request_pairs(drop: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """This request's parameters (query and form), without ``drop``, in order."""
    return [(k, v) for k, v in request.values.items(multi=True) if k not in drop]  # type: ignore[misc]  # werkzeug types items(multi=True) as (key, list); it yields one value per pair
