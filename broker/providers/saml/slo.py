"""Single logout, front-channel: the browser visits each supplier of the session in turn.

SP-initiated: a signed LogoutRequest ends the Sésame session, then every
other supplier of that session that has a logout endpoint gets a
LogoutRequest, and finally the requester gets its LogoutResponse.
IdP-initiated: when the patron logs out, :func:`patron_logout` (the
``broker_patron_logout`` hook) queues the same round and sends the browser on
it instead of to the page the logout was going to.

The round's progress lives in the state store under a random key carried as
RelayState, so any node can take the next step. A supplier that never sends
the browser back stops the round there: the Sésame session is already over.
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from flask import after_this_request, current_app, g, redirect, session, url_for

from .. import portal_handoff
from . import idpmeta, inbound, messages, pages, spmeta
from .encryption import decrypt_element
from .inbound import Received
from .logout_rounds import LogoutOrigin, LogoutRound, LogoutStop
from .names import STATUS_PARTIAL_LOGOUT, STATUS_REQUESTER, STATUS_SUCCESS
from .outbound import send
from .session_entries import SessionEntry
from .sso import check_signature, find_supplier, remember_once, session_saml, suppliers_view
from .xmlsafe import SamlInputError

if TYPE_CHECKING:
    from ...runtime import Runtime

ROUND_TTL = 600
LOGOUT_LIFETIME = 300
STATUS_UNKNOWN_PRINCIPAL = "urn:oasis:names:tc:SAML:2.0:status:UnknownPrincipal"


def runtime() -> Any:
    return current_app.extensions["broker"]


def _queue(rt: Runtime, entries: dict[str, SessionEntry], skip: str | None = None) -> list[LogoutStop]:
    """The session's suppliers to visit: those with a logout endpoint, the requester excepted."""
    view = suppliers_view(rt).by_id
    queue = []
    for entity, entry in entries.items():
        supplier = view.get(entry.supplier_id)
        if entity == skip or supplier is None:
            continue
        try:
            if spmeta.sp_metadata(supplier, rt.clock.utcnow()).slo_endpoint() is None:
                continue
        except SamlInputError:  # expired metadata: nowhere trustworthy to send the browser
            continue
        queue.append(LogoutStop(entity, entry))
    return queue


def handle(received: Received):
    """Whatever a supplier sent to /saml/slo: a LogoutRequest or a LogoutResponse."""
    if received.kind == "LogoutRequest":
        return logout_request(received)
    if received.kind == "LogoutResponse":
        return logout_response(received)
    raise SamlInputError(f"/saml/slo expects a LogoutRequest or LogoutResponse, not a {received.kind}")


def logout_request(received: Received):
    rt = runtime()
    now = rt.clock.utcnow()
    supplier = find_supplier(rt, received.issuer)
    if supplier is None:
        raise SamlInputError("the LogoutRequest comes from an unknown supplier")
    meta = spmeta.sp_metadata(supplier, rt.clock.utcnow())
    if not check_signature(received, meta):
        raise SamlInputError("a LogoutRequest must be signed")
    keys = rt.key_store
    pems = [k.private_pem for k in keys.published("saml-encryption")]
    req = inbound.logout_request(received.root, received.issuer, decrypt=lambda el: decrypt_element(el, pems))
    forget_at = inbound.check_fresh(req.issue_instant, now)
    slo_url = idpmeta.endpoint(rt, "/saml/slo")
    if req.destination != slo_url:
        raise SamlInputError(f"Destination {req.destination!r} is not {slo_url}")
    if req.not_on_or_after is not None and req.not_on_or_after <= now:
        raise SamlInputError("the LogoutRequest has expired (NotOnOrAfter)")
    remember_once(rt, received.issuer, req.id, forget_at)
    endpoint = meta.slo_endpoint()
    if endpoint is None:
        raise SamlInputError("the supplier's metadata has no SingleLogoutService to answer to")
    entries = session_saml(rt, session.get("saml"))
    mine = entries.get(meta.entity_id)
    origin = LogoutOrigin(meta.entity_id, req.id, received.relay_state)
    if mine is not None and mine.name_id != req.name_id:
        return _answer(rt, origin, STATUS_REQUESTER, STATUS_UNKNOWN_PRINCIPAL)
    progress = LogoutRound(tuple(_queue(rt, entries, skip=meta.entity_id)) if mine is not None else (), origin)
    if mine is not None:
        g.saml_logout_round = True  # our own hook must not start a second round
        portal_handoff.end_patron_session()
    return next_step(rt, secrets.token_urlsafe(24), progress)


def logout_response(received: Received):
    """A supplier answers our LogoutRequest: go on with the round named by RelayState."""
    rt = runtime()
    key = received.relay_state or ""
    progress = LogoutRound.from_wire(rt.state.get(f"saml:slo:{key}")) if 0 < len(key) <= 64 else None
    if progress is None:
        return pages.logged_out()
    supplier = find_supplier(rt, received.issuer)
    meta = spmeta.sp_metadata(supplier, rt.clock.utcnow()) if supplier is not None else None
    answer_ok = False
    if meta is not None:
        check_signature(received, meta)  # a signature, when present, must be right
        resp = inbound.logout_response(received.root, received.issuer)
        answer_ok = resp.in_response_to == progress.waiting and resp.status == STATUS_SUCCESS
    if not answer_ok:
        progress = replace(progress, partial=True)
    return next_step(rt, key, progress)


def continue_round(key: str):
    """GET /saml/logout/<key>: the first step of an IdP-initiated round."""
    rt = runtime()
    progress = LogoutRound.from_wire(rt.state.get(f"saml:slo:{key}")) if 0 < len(key) <= 64 else None
    if progress is None:
        return redirect(url_for("portal.home") if "portal" in current_app.blueprints else "/")
    return next_step(rt, key, progress)


def next_step(rt: Runtime, key: str, progress: LogoutRound):
    """Send the browser to the next supplier of the round, or finish it."""
    signing_key = rt.key_store.current("saml-signing")
    now = rt.clock.utcnow()
    while progress.queue:
        entry = progress.queue[0].entry
        progress = replace(progress, queue=progress.queue[1:])
        supplier = suppliers_view(rt).by_id.get(entry.supplier_id)
        meta = spmeta.sp_metadata(supplier, now) if supplier is not None else None
        endpoint = meta.slo_endpoint() if meta is not None else None
        if endpoint is None:
            continue  # this supplier offers no single logout
        request_id, element = messages.logout_request(
            idpmeta.entity_id(rt), endpoint.location, entry.name_id, entry.name_format, meta.entity_id,
            entry.session_index, now=now, lifetime=LOGOUT_LIFETIME)
        progress = replace(progress, waiting=request_id)
        rt.state.put(f"saml:slo:{key}", progress.to_wire(), ROUND_TTL)
        return send(endpoint, endpoint.location, "SAMLRequest", element, key, signing_key)
    rt.state.delete(f"saml:slo:{key}")
    if progress.origin is not None:
        return _answer(rt, progress.origin, STATUS_SUCCESS, STATUS_PARTIAL_LOGOUT if progress.partial else None)
    return redirect(progress.final or "/")


def _answer(rt: Runtime, origin: LogoutOrigin, code: str, sub_code: str | None):
    """The LogoutResponse to the supplier that asked for the logout."""
    supplier = find_supplier(rt, origin.entity_id)
    meta = spmeta.sp_metadata(supplier, rt.clock.utcnow()) if supplier is not None else None
    endpoint = meta.slo_endpoint() if meta is not None else None
    if endpoint is None:
        return pages.logged_out()
    location = endpoint.response_location or endpoint.location
    element = messages.logout_response(idpmeta.entity_id(rt), location, origin.request_id, code, sub_code,
                                       now=rt.clock.utcnow())
    return send(endpoint, location, "SAMLResponse", element, origin.relay_state,
                rt.key_store.current("saml-signing"))


def patron_logout(rt: Runtime, session: Any) -> list[str]:
    """The session is ending: start the round over this session's suppliers; the names of those it visits.

    The response of the request that ends the session is replaced by a
    redirect to the round's first step, and the round ends where that response
    was going.
    """
    if g.get("saml_logout_round"):
        return []
    entries = session_saml(rt, session.get("saml"))
    if not entries:
        return []
    queue = _queue(rt, entries)
    if not queue:
        return []
    view = suppliers_view(rt).by_id
    told = [view[stop.entry.supplier_id].name for stop in queue if stop.entry.supplier_id in view]
    key = secrets.token_urlsafe(24)
    progress = LogoutRound(tuple(queue))
    rt.state.put(f"saml:slo:{key}", progress.to_wire(), ROUND_TTL)
    url = url_for("saml.logout_round", key=key)

    @after_this_request
    def _send_on_round(response):
        if response.headers.get("Location", "").endswith(url):
            return response
        if 300 <= response.status_code < 400 and response.location:
            rt.state.put(f"saml:slo:{key}", replace(progress, final=response.location).to_wire(), ROUND_TTL)
        new = redirect(url)
        for cookie in response.headers.getlist("Set-Cookie"):
            new.headers.add("Set-Cookie", cookie)
        return new

    return told


def logout_form_targets(target: str) -> list[str] | None:
    """The portal's logout form ends, through redirects, at each SLO endpoint of this session's suppliers."""
    if target != "/logout":
        return None
    rt = runtime()
    found = []
    for stop in _queue(rt, session_saml(rt, session.get("saml"))):
        supplier = suppliers_view(rt).by_id.get(stop.entry.supplier_id)
        endpoint = spmeta.sp_metadata(supplier, rt.clock.utcnow()).slo_endpoint() if supplier is not None else None
        if endpoint is not None:
            found.append(endpoint.location)
    return found


__all__ = ["handle", "continue_round", "patron_logout", "logout_form_targets"]
