"""CAS 3.0 endpoints: /cas/login, /cas/serviceValidate, /cas/p3/serviceValidate, /cas/logout.

Proxy tickets are not offered: ``pgtUrl`` is ignored and the proxy
endpoints answer ``INVALID_REQUEST``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlencode, urlsplit

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ...web.patron_session import current_patron
from ...web.security_headers import register_form_target_resolver
from .. import issuance
from ..portal_handoff import (
    FRESH,
    end_patron_session,
    error_page,
    fresh_marker,
    fresh_since,
    refusal_page,
    send_to_login,
)
from . import responses, slo
from .services import find_service
from .tickets import Ticket, attributes_of, same_service

if TYPE_CHECKING:
    from ...runtime import Runtime


def _flag(name: str) -> bool:
    """CAS booleans: present and not "false" (``renew=true``, ``renew=1``, bare ``renew``)."""
    value = request.args.get(name)
    return value is not None and value.lower() not in ("false", "0")


def with_ticket(service: str, ticket: str) -> str:
    """The service URL with ``ticket`` added to its query, the rest left byte for byte as it was.

    Services rebuild their own URL minus ``ticket`` to validate; re-encoding
    their query would make that URL differ from the one the ticket is bound to.
    """
    base, hash_mark, fragment = service.partition("#")
    separator = "" if base.endswith(("?", "&")) else ("&" if "?" in base else "?")
    return f"{base}{separator}ticket={ticket}{hash_mark}{fragment}"


def make_blueprint(runtime: Runtime) -> Blueprint:
    bp = Blueprint("cas", __name__)
    tickets = runtime.cas_tickets

    def form_targets(target: str) -> list[str] | None:
        """Where a form whose answer leads to ``target`` ends: the registered service."""
        parts = urlsplit(target)
        if parts.path != "/cas/login":
            return None
        service = (parse_qs(parts.query).get("service") or [None])[0]
        return [service] if find_service(runtime, service) is not None else []

    bp.record_once(lambda state: register_form_target_resolver(state.app, form_targets))

    @bp.after_request
    def _no_store(response):
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    def login_again(service: str, *, renew: bool, since: float):
        args = [("service", service), (FRESH, fresh_marker(runtime, since))]
        if renew:
            args.insert(1, ("renew", "true"))
        return send_to_login(f"{url_for('cas.login')}?{urlencode(args)}", renew=renew)

    @bp.get("/cas/login")
    def login():
        service = request.args.get("service")
        patron = current_patron()
        if not service:
            if patron is None:
                return send_to_login("/")
            return redirect("/")
        found = find_service(runtime, service)
        if found is None:
            return error_page(403, "unauthorized_service",
                              _("Ce service n'est pas autorisé à se connecter avec Sésame."),
                              template="cas/error.html")
        renew = _flag("renew")
        since = fresh_since(runtime, request.args.get(FRESH))
        if renew and (since is None or patron is None or patron.at < since):
            return login_again(service, renew=True, since=since or runtime.clock.wall())
        if patron is None:
            if _flag("gateway"):
                return redirect(service, 302)  # no session and no interaction wanted: back without a ticket
            return login_again(service, renew=False, since=since or runtime.clock.wall())
        result = issuance.decide(runtime, found.supplier, patron.uid, "cas", patron=patron)
        if not result.granted:
            if _flag("gateway") and not renew:
                return redirect(service, 302)
            return refusal_page(result.outcome)
        new_login = since is not None and patron.at >= since
        ticket = tickets.issue(Ticket(service, result.subject, attributes_of(result.attributes), new_login,
                                      int(patron.at)))
        slo.remember(found, service, ticket)
        return redirect(with_ticket(service, ticket), 302)

    def validate(*, with_attributes: bool):
        as_json = (request.args.get("format") or "").upper() == "JSON"
        service = request.args.get("service")
        value = request.args.get("ticket")
        if not service or not value:
            return responses.failure(responses.INVALID_REQUEST, "service and ticket are required", as_json=as_json)
        if not tickets.well_formed(value):
            return responses.failure(responses.INVALID_TICKET_SPEC, "not a service ticket", as_json=as_json)
        ticket = tickets.take(value)
        if ticket is None:
            return responses.failure(responses.INVALID_TICKET, f"ticket {value} not recognized", as_json=as_json)
        if not same_service(ticket.service, service):
            return responses.failure(responses.INVALID_SERVICE, "the ticket was issued for another service",
                                     as_json=as_json)
        if _flag("renew") and not ticket.new_login:
            return responses.failure(responses.INVALID_TICKET, "the ticket did not come from a new login",
                                     as_json=as_json)
        attributes = None
        if with_attributes:
            attributes = {**responses.standard_attributes(ticket.auth_time, ticket.new_login), **ticket.attributes}
        return responses.success(ticket.user, attributes, as_json=as_json)

    @bp.get("/cas/serviceValidate")
    def service_validate():
        return validate(with_attributes=False)

    @bp.get("/cas/p3/serviceValidate")
    def p3_service_validate():
        return validate(with_attributes=True)

    @bp.get("/cas/proxyValidate")
    @bp.get("/cas/p3/proxyValidate")
    @bp.get("/cas/proxy")
    def proxy_unsupported():
        as_json = (request.args.get("format") or "").upper() == "JSON"
        return responses.failure(responses.INVALID_REQUEST, "proxy tickets are not offered by this server",
                                 as_json=as_json)

    @bp.get("/cas/logout")
    def logout():
        if current_patron() is not None:
            end_patron_session()
        service = request.args.get("service") or request.args.get("url")
        if service and find_service(runtime, service) is not None:
            return redirect(service, 302)
        return render_template("cas/logged_out.html")

    return bp
