"""Redirect targets checked as they will be sent.

A ``Location`` header carries a URL after Werkzeug has turned it into ASCII
(``iri_to_uri``); Python's URL parser silently drops tabs and line breaks.
Checking a target after parsing, then sending the original string, lets a
target pass the check and fail (or mean something else) when sent. Here a
target is first turned into exactly what will be sent, refused when that is
impossible (control characters, whitespace, a host that cannot be encoded, a
bad port), and only then checked.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

from werkzeug.urls import iri_to_uri

log = logging.getLogger("broker.web")

MAX_TARGET = 2048
#: C0 and C1 control characters, DEL, and every kind of whitespace (Unicode spaces and separators too)
_UNSENDABLE = re.compile(r"[\x00-\x20\x7f-\x9f\s\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]")
#: what a Location header carries: printable ASCII, nothing else
_ASCII_URL = re.compile(r"^[\x21-\x7e]+$")


def sendable(url: str | None) -> str | None:
    """``url`` exactly as a ``Location`` header will carry it, or None when it cannot be sent as it is."""
    if not url or not isinstance(url, str) or len(url) > MAX_TARGET or _UNSENDABLE.search(url):
        return None
    try:
        sent = iri_to_uri(url)
        if not _ASCII_URL.match(sent) or iri_to_uri(sent) != sent:  # the header would change it again: not one stable URL
            return None
        urlsplit(sent).port  # noqa: B018  (raises on a bad port)
    except (ValueError, UnicodeError):
        return None
    return sent


def same_site_path(target: str | None, default: str = "/") -> str:
    """A path on this site (``/…``) as it will be sent, else ``default``: no open redirect, no bad header."""
    sent = sendable(target)
    if sent is None or "\\" in target:  # type: ignore[operator]  # target is a str when sent is not None
        return default
    parts = urlsplit(sent)
    if parts.scheme or parts.netloc or not sent.startswith("/") or sent.startswith("//"):
        return default
    return sent


def same_origin(target: str | None, reference: str) -> str | None:
    """``target`` as it will be sent when it is an http(s) URL on ``reference``'s scheme and host, else None."""
    sent = sendable(target)
    if sent is None:
        return None
    wanted, known = urlsplit(sent), urlsplit(reference)
    if wanted.scheme not in ("http", "https") or "@" in wanted.netloc:
        return None
    if (wanted.scheme, wanted.netloc.lower()) != (known.scheme, known.netloc.lower()):
        return None
    return sent


def location_fault(response) -> str | None:
    """Why a response's ``Location`` header cannot be sent (None when it can, or there is none)."""
    location = response.headers.get("Location")
    if location is None:
        return None
    if _UNSENDABLE.search(location):
        return "control character or whitespace"
    try:
        iri_to_uri(location)
    except (ValueError, UnicodeError) as exc:
        return type(exc).__name__
    return None


def init_app(app) -> None:
    """Last line of defence: a response whose ``Location`` cannot be sent becomes a 400 page, never a 500."""
    from flask import request
    from flask_babel import gettext as _

    from .errors import error_response

    @app.after_request
    def _sendable_location(response):
        fault = location_fault(response)
        if fault is None:
            return response
        log.warning("redirect target refused", extra={"event": {"path": request.path[:200], "fault": fault}})
        return app.make_response(error_response(400, "bad_redirect", _(
            "L'adresse de destination de cette page n'est pas valide.")))
