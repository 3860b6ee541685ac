"""Back-channel logout (OpenID Connect Back-Channel Logout 1.0): tell relying parties a patron left.

When a client registered a ``backchannel_logout_uri`` and the patron signed in
to it during this Sésame session, the authorization endpoint remembers the
client and the ``sub`` it was given in the session (``session["oidc"]``).
When the Sésame session ends, :func:`logout_hook` POSTs a signed
``logout_token`` to each of them, concurrently, with a short timeout per
request and a bounded total time, so the logout page never waits long. A
failure is logged with the client's slug and the kind of error only.
"""

from __future__ import annotations

import logging
import secrets
import time
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

import requests
from flask import current_app, g, session

from .clients import OidcClient, find_client

log = logging.getLogger("broker.oidc")

EVENT = "http://schemas.openid.net/event/backchannel-logout"
#: seconds allowed to one POST, and to all of them together
REQUEST_TIMEOUT = 2.0
TOTAL_TIMEOUT = 3.0
TOKEN_LIFETIME = 120
SESSION_KEY = "oidc"


def remember(client: OidcClient, sub: str) -> None:
    """The patron signed in to ``client`` in this session: it will be told when the session ends."""
    if not client.backchannel_logout_uri:
        return
    entries = dict(session.get(SESSION_KEY) or {})
    if entries.get(client.client_id) != sub:
        entries[client.client_id] = sub
        session[SESSION_KEY] = entries


def logout_token(server: Any, client: OidcClient, sub: str, now: float | None = None) -> str:
    """A signed logout_token for ``sub`` at ``client`` (never a nonce, per the specification)."""
    issued = int(now if now is not None else time.time())
    claims = {"iss": server.issuer, "aud": client.client_id, "iat": issued, "exp": issued + TOKEN_LIFETIME,
              "jti": secrets.token_urlsafe(16), "sub": sub, "events": {EVENT: {}}}
    return server.signer.sign(claims, client.id_token_alg)


def _post(uri: str, token: str) -> bool:
    answer = requests.post(uri, data={"logout_token": token}, timeout=REQUEST_TIMEOUT, allow_redirects=False,
                           headers={"Cache-Control": "no-cache"})
    return answer.status_code in (200, 204)


def notify(runtime: Any, entries: dict[str, str]) -> list[str]:
    """POST a logout_token to every client of ``entries`` (client_id -> sub); the names of those that took it."""
    server = runtime.caches.get("oidc_server")
    if server is None:
        return []
    jobs: list[tuple[OidcClient, str]] = []
    for client_id, sub in entries.items():
        client = find_client(runtime, client_id)
        if client is not None and client.backchannel_logout_uri and isinstance(sub, str):
            jobs.append((client, logout_token(server, client, sub)))
    if not jobs:
        return []
    told: list[str] = []
    pool = ThreadPoolExecutor(max_workers=min(8, len(jobs)), thread_name_prefix="oidc-bclogout")
    try:
        futures = {pool.submit(_post, c.backchannel_logout_uri, t): c for c, t in jobs}
        done, pending = wait(futures, timeout=TOTAL_TIMEOUT)
        for future in done:
            client = futures[future]
            error = future.exception()
            if error is None and future.result():
                told.append(client.name)
            else:
                log.warning("back-channel logout not acknowledged", extra={"event": {
                    "supplier": client.slug, "error": type(error).__name__ if error else "status"}})
        for future in pending:
            log.warning("back-channel logout timed out", extra={"event": {"supplier": futures[future].slug}})
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return sorted(told)


def logout_hook(*_args: Any, **_kwargs: Any) -> None:
    """Called before the Sésame session ends: tell this session's back-channel clients."""
    entries = session.get(SESSION_KEY) or {}
    if not entries:
        return None
    told = notify(current_app.extensions["broker"], dict(entries))
    g.setdefault("logout_told", []).extend(told)
    return None
