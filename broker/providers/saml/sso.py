"""Single sign-on: AuthnRequests (SP-initiated) and unsolicited responses (IdP-initiated).

A request that needs a login is kept in the state store under a random key
and only that key travels in the login page's ``next`` URL, so any node can
finish the flow. A patron who already has a session gets the response in the
same HTTP request: one metadata lookup in the process cache, the access
decision, one signature.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, replace
from datetime import UTC
from typing import TYPE_CHECKING, Any

from flask import current_app, session, url_for

from ...db.models import Supplier
from ...domain.access import Reason, Refusal
from ...web.patron_session import LoggedPatron, current_patron
from .. import issuance, portal_handoff, registry_cache
from . import idpmeta, inbound, messages, pages, session_entries, spmeta
from .encryption import choose_algorithm
from .inbound import Received
from .names import (
    BINDING_POST,
    NAMEID_FORMATS,
    NAMEID_PERSISTENT,
    NAMEID_TRANSIENT,
    NAMEID_UNSPECIFIED,
    STATUS_INVALID_NAMEID_POLICY,
    STATUS_NO_PASSIVE,
    STATUS_REQUEST_DENIED,
    STATUS_REQUESTER,
    STATUS_RESPONDER,
)
from .outbound import post_form
from .pending_requests import CarriedSession, PendingRequest
from .session_entries import SessionEntry
from .signing import verify, verify_redirect
from .xmlsafe import SamlInputError

if TYPE_CHECKING:
    from ...runtime import Runtime

#: how long a request waits for the patron to log in
PENDING_TTL = 1800
#: suppliers remembered in one patron session (for single logout)
MAX_SESSION_SPS = 50


def runtime() -> Any:
    return current_app.extensions["broker"]


@dataclass(frozen=True)
class SamlSuppliers:
    """The enabled SAML suppliers of this process's view, by entity ID and by id."""

    by_entity: dict[str, Supplier]
    by_id: dict[int, Supplier]


def _build(rows: list[Supplier]) -> SamlSuppliers:
    return SamlSuppliers({r.saml_entity_id: r for r in rows if r.saml_entity_id}, {r.id: r for r in rows})


def suppliers_view(rt: Runtime) -> SamlSuppliers:
    """Read-only supplier rows (networks loaded), refreshed when any SAML supplier changes.

    The SSO path reads no supplier from the database: the view is rebuilt when
    a cheap check (at most every few seconds) sees a change.
    """
    return registry_cache.registry(rt, "saml", _build).get()


def session_saml(rt: Runtime, stored: Any) -> dict[str, session_entries.SessionEntry]:
    """What each SAML supplier got in a patron session (``stored``: its ``saml`` value), by entity ID."""
    view = suppliers_view(rt).by_id

    def entity_of(supplier_id: int) -> str | None:
        supplier = view.get(supplier_id)
        return supplier.saml_entity_id if supplier is not None else None

    return session_entries.read_session(stored, entity_of)


def find_supplier(rt: Runtime, entity_id: str) -> Supplier | None:
    """The enabled SAML supplier registered with this entity ID."""
    return suppliers_view(rt).by_entity.get(entity_id) if entity_id else None


def check_signature(received: Received, meta: spmeta.SpMetadata) -> bool:
    """Verify the message's signature for its binding; True when signed (and valid)."""
    if received.binding == BINDING_POST:
        return verify(received.root, meta.signing_certs)
    return verify_redirect(received.query_string, received.param, meta.signing_certs)


def _seen_key(issuer: str, msg_id: str) -> str:
    return "saml:seen:" + hashlib.sha256(f"{issuer}\x1f{msg_id}".encode()).hexdigest()[:40]


def remember_once(rt: Runtime, issuer: str, msg_id: str, forget_at) -> None:
    """Refuse a message ID already seen from this supplier (kept until it would expire anyway)."""
    ttl = max(1, int((forget_at - rt.clock.utcnow()).total_seconds()) + 1)
    if not rt.state.add(_seen_key(issuer, msg_id), {"at": rt.clock.wall()}, ttl):
        raise SamlInputError("this request was already used (replayed message)")


# -- entry points ------------------------------------------------------------------------
def authn_request(received: Received):
    """Handle an AuthnRequest from /saml/sso (either binding)."""
    if received.kind != "AuthnRequest":
        raise SamlInputError(f"/saml/sso expects an AuthnRequest, not a {received.kind}")
    rt = runtime()
    now = rt.clock.utcnow()
    supplier = find_supplier(rt, received.issuer)
    if supplier is None:
        return unknown_supplier(rt)
    meta = spmeta.sp_metadata(supplier, rt.clock.utcnow())
    signed = check_signature(received, meta)
    if meta.authn_requests_signed and not signed:
        raise SamlInputError("the supplier's metadata says its AuthnRequests are signed, but this one is not")
    req = inbound.authn_request(received.root, received.issuer)
    forget_at = inbound.check_fresh(req.issue_instant, now)
    sso_url = idpmeta.endpoint(rt, "/saml/sso")
    if req.destination is not None and req.destination != sso_url:
        raise SamlInputError(f"Destination {req.destination!r} is not {sso_url}")
    if signed and req.destination is None:
        raise SamlInputError("a signed request must name its Destination")
    acs = _acs(meta, req)
    remember_once(rt, received.issuer, req.id, forget_at)
    pending = PendingRequest(supplier.id, meta.entity_id, req.id, acs, received.relay_state, req.force_authn,
                             req.is_passive, req.nameid_format, rt.clock.wall())
    if req.nameid_format not in (None, NAMEID_UNSPECIFIED, NAMEID_PERSISTENT, NAMEID_TRANSIENT):
        return status_response(rt, pending, STATUS_REQUESTER, STATUS_INVALID_NAMEID_POLICY,
                               "only persistent and transient NameIDs are issued")
    return proceed(rt, supplier, pending, None)


def unsolicited(provider_id: str | None, target: str | None, shire: str | None):
    """IdP-initiated SSO (Shibboleth's ``/unsolicited`` convention): providerId, target, shire."""
    rt = runtime()
    if not provider_id:
        raise SamlInputError("providerId is missing")
    inbound.check_relay_state(target, "target")
    supplier = find_supplier(rt, provider_id)
    if supplier is None:
        return unknown_supplier(rt)
    meta = spmeta.sp_metadata(supplier, rt.clock.utcnow())
    if shire:
        endpoint = meta.acs_by_url(shire)
        if endpoint is None:
            raise SamlInputError("shire is not an assertion consumer service of this supplier's metadata")
    else:
        endpoint = meta.default_acs()
    pending = PendingRequest(supplier.id, meta.entity_id, None, endpoint.location, target or None, False, False,
                             None, rt.clock.wall())
    return proceed(rt, supplier, pending, None)


def resume(key: str):
    """Back from the login page: continue the request kept under ``key``."""
    rt = runtime()
    if not key or len(key) > 64:
        return pages.expired()
    name = f"saml:pending:{key}"
    # back from a login, the request is nearly always answered now: take it at once (single use,
    # one round trip); proceed() puts it back in the rare case where the login must be done again
    taken = current_patron() is not None
    pending = PendingRequest.from_wire(rt.state.take(name) if taken else rt.state.get(name))
    if pending is None:  # none, or not one this version can read
        return pages.expired()
    supplier = suppliers_view(rt).by_id.get(pending.supplier_id)
    if supplier is None:
        if not taken:
            rt.state.delete(name)
        return unknown_supplier(rt)
    return proceed(rt, supplier, pending, key, taken=taken)


# -- the common path -----------------------------------------------------------------------
def _acs(meta: spmeta.SpMetadata, req: inbound.AuthnRequest) -> str:
    """The ACS URL to answer to: only ever one from the supplier's metadata (no open redirect)."""
    if req.protocol_binding is not None and req.protocol_binding != BINDING_POST:
        raise SamlInputError("only the HTTP-POST binding is offered for responses")
    if req.acs_url is not None:
        if req.acs_index is not None:
            raise SamlInputError("AssertionConsumerServiceURL and AssertionConsumerServiceIndex are exclusive")
        endpoint = meta.acs_by_url(req.acs_url)
        if endpoint is None:
            raise SamlInputError("AssertionConsumerServiceURL is not in the supplier's metadata")
        return endpoint.location
    if req.acs_index is not None:
        endpoint = meta.acs_by_index(req.acs_index)
        if endpoint is None or endpoint.binding != BINDING_POST:
            raise SamlInputError("AssertionConsumerServiceIndex names no HTTP-POST endpoint of the metadata")
        return endpoint.location
    return meta.default_acs().location


def proceed(rt: Runtime, supplier: Supplier, pending: PendingRequest, key: str | None, *, taken: bool = False):
    """Log the patron in first if needed, else decide and answer.

    ``key``: where the request is kept (None for a new one); ``taken``: it was taken from there already.
    """
    patron = current_patron()
    fresh_enough = patron is not None and (not pending.force_authn or patron.at >= pending.at)
    if not fresh_enough:
        if pending.passive:
            if key and not taken:
                rt.state.delete(f"saml:pending:{key}")
            return status_response(rt, pending, STATUS_RESPONDER, STATUS_NO_PASSIVE, None)
        if key is None:
            key = secrets.token_urlsafe(24)
            if pending.force_authn and patron is not None:
                # the new login starts a new session: carry this one's suppliers over for single logout
                old_session = CarriedSession(patron.uid, session_saml(rt, session.get("saml")))
                pending = replace(pending, carried=old_session)
            rt.state.put(f"saml:pending:{key}", pending.to_wire(), PENDING_TTL)
        elif taken:  # kept again for the login it still needs, no longer than it had left
            left = int(pending.at + PENDING_TTL - rt.clock.wall())
            if left <= 0:
                return pages.expired()
            rt.state.put(f"saml:pending:{key}", pending.to_wire(), left)
        return portal_handoff.send_to_login(url_for("saml.resume", k=key), renew=pending.force_authn)
    if key is not None and not taken and rt.state.take(f"saml:pending:{key}") is None:
        return pages.expired()  # another tab finished this request already
    carried = pending.carried
    if carried is not None and carried.uid == patron.uid:
        merged = dict(carried.entries)
        merged.update(session_saml(rt, session.get("saml")))
        session["saml"] = session_entries.write_session(merged)
    return issue(rt, supplier, pending, patron)


def nameid_format(supplier: Supplier, requested: str | None = None) -> str:
    """The NameID format of a response: the one the request asks for, else the supplier's setting."""
    if requested in (NAMEID_PERSISTENT, NAMEID_TRANSIENT):
        return requested
    return NAMEID_FORMATS.get((supplier.config or {}).get("nameid", "persistent"), NAMEID_PERSISTENT)


def with_subject_id(meta: spmeta.SpMetadata, attributes: dict[str, list[str]]) -> dict[str, list[str]]:
    """The released attributes (a new dict), plus subject-id when the supplier's metadata ask for it."""
    if meta.subject_id_req in ("subject-id", "any") and "pairwise-id" in attributes:
        # Sésame never releases an identifier shared between suppliers: subject-id carries the pairwise value
        return {**attributes, "subject-id": list(attributes["pairwise-id"])}
    return attributes


def issue(rt: Runtime, supplier: Supplier, pending: PendingRequest, patron: LoggedPatron):
    """The issuance step every protocol shares, then SAML's own part: the NameID and the signed response."""
    result = issuance.decide(rt, supplier, patron.uid, "saml", patron=patron)
    if not result.granted:
        if pending.passive:
            return status_response(rt, pending, STATUS_RESPONDER, STATUS_REQUEST_DENIED,
                                   result.outcome.decision.refusal.code)
        return pages.refusal(result.outcome)
    meta = spmeta.sp_metadata(supplier, rt.clock.utcnow())
    config = supplier.config or {}
    fmt = nameid_format(supplier, pending.nameid_format)
    attributes = with_subject_id(meta, result.attributes)
    entries = session_saml(rt, session.get("saml"))
    entry = entries.get(meta.entity_id)
    if fmt == NAMEID_PERSISTENT:
        name_id = result.subject
    elif entry is not None and entry.name_format == NAMEID_TRANSIENT:
        name_id = entry.name_id  # one transient value per session and supplier
    else:
        name_id = f"_{secrets.token_hex(16)}"
    session_index = (entry.session_index if entry is not None else None) or f"_{secrets.token_urlsafe(12)}"
    new_entry = SessionEntry(name_id, fmt, session_index, supplier.id)
    if entry != new_entry and (entry is not None or len(entries) < MAX_SESSION_SPS):
        entries[meta.entity_id] = new_entry
        session["saml"] = session_entries.write_session(entries)
    sign_mode = config.get("sign", "response")
    delivery = messages.Delivery(
        sp_entity=meta.entity_id, acs_url=pending.acs_url, in_response_to=pending.request_id,
        sign_assertion=sign_mode in ("assertion", "both") or meta.want_assertions_signed,
        sign_response=sign_mode in ("response", "both"),
        encryption_cert=meta.encryption_certs[0] if config.get("encrypt") and meta.encryption_certs else None,
        encryption_algorithm=choose_algorithm(meta.encryption_methods))
    subject = messages.Subject(name_id=name_id, name_format=fmt,
                               authn_instant=_instant(patron.at), session_index=session_index)
    xml = messages.success_response(
        idpmeta.entity_id(rt), delivery, subject, attributes, now=rt.clock.utcnow(),
        lifetime=rt.settings.saml_assertion_lifetime, signing_key=rt.key_store.current("saml-signing"))
    return post_form(pending.acs_url, "SAMLResponse", xml, pending.relay_state)


def status_response(rt: Runtime, pending: PendingRequest, code: str, sub_code: str | None, message: str | None):
    """A signed non-success Response posted to the supplier (passive requests, bad NameID policy)."""
    xml = messages.status_response(idpmeta.entity_id(rt), pending.acs_url, pending.request_id, code, sub_code,
                                   message, now=rt.clock.utcnow(), signing_key=rt.key_store.current("saml-signing"))
    return post_form(pending.acs_url, "SAMLResponse", xml, pending.relay_state)


def unknown_supplier(rt: Runtime):
    """The requester is not a registered SAML supplier: counted when a patron is known, then the page."""
    patron = current_patron()
    if patron is not None:
        issuance.decide(rt, None, patron.uid, "saml", patron=patron)  # refused: no supplier
    return pages.refusal(Refusal(Reason.UNKNOWN_SUPPLIER))


def _instant(epoch: float):
    from datetime import datetime

    return datetime.fromtimestamp(epoch, tz=UTC)
