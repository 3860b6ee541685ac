"""CAS single logout (CAS protocol 3.0, §2.3.3): tell each service of the session that the patron left.

A service registered with single logout has each ticket issued to it in this
Sésame session remembered (``session["cas"]``: service URL, ticket, supplier).
When the session ends, :func:`patron_logout` (the ``broker_patron_logout``
hook) POSTs a ``logoutRequest``
parameter, a SAML-style ``samlp:LogoutRequest`` whose ``SessionIndex`` is the
ticket, to the service URL the ticket was issued for
(:mod:`broker.providers.logout_posts`: concurrently, bounded in time).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from flask import session

from ..logout_posts import LogoutPost, deliver
from .services import CasService, find_service

if TYPE_CHECKING:
    from ...runtime import Runtime

SESSION_KEY = "cas"
#: tickets remembered per session (the oldest are dropped beyond this)
MAX_REMEMBERED = 30


def remember(service: CasService, service_url: str, ticket: str) -> None:
    """A ticket went to ``service``: it will be told when the session ends (when it asked for single logout)."""
    if not service.single_logout:
        return
    entries = list(session.get(SESSION_KEY) or [])
    entries.append([service_url, ticket])
    session[SESSION_KEY] = entries[-MAX_REMEMBERED:]


def logout_request(ticket: str, now: datetime) -> str:
    """The ``logoutRequest`` body for one ticket, issued at ``now``."""
    instant = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return ('<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
            'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" '
            f'ID="_{secrets.token_hex(16)}" Version="2.0" IssueInstant="{instant}">'
            '<saml:NameID>@NOT_USED@</saml:NameID>'
            f'<samlp:SessionIndex>{escape(ticket)}</samlp:SessionIndex>'
            '</samlp:LogoutRequest>')


def patron_logout(runtime: Runtime, session: Any) -> list[str]:
    """The session is ending: POST a logoutRequest for each ticket of the session; the services told."""
    entries = session.get(SESSION_KEY) or []
    if not entries:
        return []
    jobs = []
    for entry in entries:
        if not (isinstance(entry, list) and len(entry) == 2 and all(isinstance(x, str) for x in entry)):
            continue
        service_url, ticket = entry
        service = find_service(runtime, service_url)  # still registered, still asking for single logout
        if service is None or not service.single_logout:
            continue
        jobs.append(LogoutPost(service.name, service.slug, service_url, {"logoutRequest": logout_request(ticket, runtime.clock.utcnow())},
                               "cas-slo"))
    return deliver(jobs)
