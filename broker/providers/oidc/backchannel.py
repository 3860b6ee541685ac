"""Back-channel logout (OpenID Connect Back-Channel Logout 1.0): tell relying parties a patron left.

When a client registered a ``backchannel_logout_uri`` and the patron signed in
to it during this Sésame session, the authorization endpoint remembers the
client and the ``sub`` it was given in the session (``session["oidc"]``).
When the Sésame session ends, :func:`patron_logout` (the
``broker_patron_logout`` hook) POSTs a signed
``logout_token`` to each of them (:mod:`broker.providers.logout_posts`:
concurrently, with a short timeout and a bounded total time).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import TYPE_CHECKING, Any

from flask import current_app, session

from ..logout_posts import LogoutPost, deliver
from .clients import OidcClient, find_client

if TYPE_CHECKING:
    from ...runtime import Runtime

EVENT = "http://schemas.openid.net/event/backchannel-logout"
TOKEN_LIFETIME = 120
SESSION_KEY = "oidc"
SID_KEY = "oidc_sid"


def session_id(patron: Any = None) -> str:
    """This Sésame session's ``sid`` (ID tokens and logout tokens carry it); a new login gets a new one.

    It is a keyed hash of the logged-in patron and their login time, so nothing is stored for it:
    the same login always gives the same ``sid``, and no client can link two logins. Sessions
    written before kept a random one under ``oidc_sid``, which still counts.
    """
    sid = session.get(SID_KEY)
    if isinstance(sid, str) and sid:
        return sid
    if patron is None:
        from ...web.patron_session import current_patron

        patron = current_patron()
    if patron is None:  # no patron logged in: nothing to tie the sid to, keep a random one
        sid = secrets.token_urlsafe(16)
        session[SID_KEY] = sid
        return sid
    key = current_app.extensions["broker"].keys.tokens
    digest = hmac.new(key, f"oidc-sid\x1f{patron.uid}\x1f{patron.at!r}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


def remember(client: OidcClient, sub: str) -> None:
    """The patron signed in to ``client`` in this session: it will be told when the session ends."""
    if not client.backchannel_logout_uri:
        return
    entries = dict(session.get(SESSION_KEY) or {})
    if entries.get(client.client_id) != sub:
        entries[client.client_id] = sub
        session[SESSION_KEY] = entries


def logout_token(server: Any, client: OidcClient, sub: str, now: float, sid: str = "") -> str:
    """A signed logout_token for ``sub`` (and session ``sid``) at ``client`` (never a nonce)."""
    issued = int(now)
    claims = {"iss": server.issuer, "aud": client.client_id, "iat": issued, "exp": issued + TOKEN_LIFETIME,
              "jti": secrets.token_urlsafe(16), "sub": sub, "events": {EVENT: {}}}
    if sid:
        claims["sid"] = sid
    return server.signer.sign(claims, client.id_token_alg)


def notify(runtime: Runtime, entries: dict[str, str], sid: str = "") -> list[str]:
    """POST a logout_token to every client of ``entries`` (client_id -> sub); the names of those that took it."""
    server = runtime.oidc_server
    if server is None:
        return []
    jobs: list[LogoutPost] = []
    for client_id, sub in entries.items():
        client = find_client(runtime, client_id)
        if client is not None and client.backchannel_logout_uri and isinstance(sub, str):
            token = logout_token(server, client, sub, runtime.clock.wall(), sid)
            jobs.append(LogoutPost(client.name, client.slug, client.backchannel_logout_uri,
                                   {"logout_token": token}, "oidc-backchannel"))
    return deliver(jobs)


def patron_logout(runtime: Runtime, session: Any) -> list[str]:
    """The session is ending: tell its back-channel clients; the names of those that took it."""
    entries = session.get(SESSION_KEY) or {}
    if not entries:
        return []
    return notify(runtime, dict(entries), session_id())
