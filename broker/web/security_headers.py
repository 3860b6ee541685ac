"""Browser security headers on every response, from this one place.

- ``Content-Security-Policy``: everything from this site only; scripts and
  ``<style>`` blocks from this site or carrying the response's nonce
  (``{{ csp_nonce() }}`` in templates) or an allowed hash; no framing
  (``frame-ancestors 'none'``); forms post to this site, plus the origins a
  view allows for this response (``allow_form_action``), e.g. a supplier's
  registered ACS for the auto-POST page.
- ``X-Frame-Options: DENY`` and ``X-Content-Type-Options: nosniff``.
- ``Referrer-Policy``: ``no-referrer`` on the pages that carry protocol
  messages or login targets, ``strict-origin-when-cross-origin`` elsewhere.
- ``Strict-Transport-Security`` when ``base_url`` is https.
- ``Cache-Control: no-store`` unless the view chose otherwise (static files
  keep their own caching): patron, staff and protocol pages carry personal
  data or one-time messages.

Views name other places a form may post to (or be redirected to after a form
post, which browsers check too) with ``allow_form_action(url)``;
``allow_form_action_towards(target)`` asks the providers where a login's
``next`` will end (a client's ``redirect_uri``, a CAS service…).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from flask import Flask, g, request

#: paths whose pages carry protocol messages, codes, tickets or a login's target in their URL
PROTOCOL_PATHS = ("/saml/", "/oidc/", "/cas/", "/go/", "/login", "/logout", "/register", "/staff/login",
                  "/.well-known/")
HSTS = "max-age=31536000"
#: resolvers: ``(target) -> origins or None``; a target a resolver does not know gives None
FormTargetResolver = Callable[[str], "Iterable[str] | None"]


def csp_nonce() -> str:
    """This response's nonce for inline ``<script>`` and ``<style>`` elements."""
    nonce = g.get("csp_nonce")
    if nonce is None:
        nonce = g.csp_nonce = secrets.token_urlsafe(18)
    return nonce


def script_hash(source: str) -> str:
    """The CSP source expression allowing one inline script (or style) with exactly this text."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"


def allow_script(source: str) -> None:
    """Let this response run one inline script, by hash (for pages built without a template)."""
    g.setdefault("csp_hashes", set()).add(script_hash(source))


def origin_of(url: str | None) -> str | None:
    """``scheme://host[:port]`` of an absolute http(s) URL, else None."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        return None
    if any(c in parts.netloc for c in " ;,'\"\\"):
        return None  # never anything that could end the directive
    return f"{parts.scheme}://{parts.netloc.lower()}"


def allow_form_action(*urls: str | None) -> None:
    """Let this response's forms post (or be redirected after posting) to these URLs' origins."""
    allowed = g.setdefault("form_action", set())
    for url in urls:
        found = origin_of(url)
        if found:
            allowed.add(found)


def register_form_target_resolver(app: Flask, resolver: FormTargetResolver) -> None:
    app.extensions.setdefault("form_target_resolvers", []).append(resolver)


def allow_form_action_towards(target: str | None, depth: int = 3) -> None:
    """A form here will end at ``target`` (maybe through redirects): allow the origins it leads to."""
    from flask import current_app

    if not target or depth <= 0:
        return
    if origin_of(target):
        allow_form_action(target)
        return
    for resolver in current_app.extensions.get("form_target_resolvers", ()):
        try:
            found = resolver(target)
        except Exception:  # a resolver's mistake must not break the page: the form stays same-site
            found = None
        if found is None:
            continue
        for url in found:
            if url.startswith("/"):
                allow_form_action_towards(url, depth - 1)
            else:
                allow_form_action(url)
        return


def _policy(nonce: str, hashes: Iterable[str], form_action: Iterable[str]) -> str:
    scripts = " ".join(("'self'", f"'nonce-{nonce}'", *sorted(hashes)))
    forms = " ".join(("'self'", *sorted(form_action)))
    return ("default-src 'self'; "
            f"script-src {scripts}; "
            f"style-src 'self' 'nonce-{nonce}'; "
            "img-src 'self' data: https:; "
            "object-src 'none'; base-uri 'none'; "
            "frame-ancestors 'none'; "
            f"form-action {forms}")


def init_app(app: Flask, https: bool) -> None:
    app.jinja_env.globals["csp_nonce"] = csp_nonce

    @app.after_request
    def _security_headers(response):
        headers = response.headers
        headers["Content-Security-Policy"] = _policy(csp_nonce(), g.get("csp_hashes", ()), g.get("form_action", ()))
        headers["X-Frame-Options"] = "DENY"
        headers["X-Content-Type-Options"] = "nosniff"
        path = request.path
        if "Referrer-Policy" not in headers:
            protocol = path.startswith(PROTOCOL_PATHS)
            headers["Referrer-Policy"] = "no-referrer" if protocol else "strict-origin-when-cross-origin"
        if https:
            headers["Strict-Transport-Security"] = HSTS
        if "Cache-Control" not in headers and request.endpoint != "static":
            headers["Cache-Control"] = "no-store"
        return response
