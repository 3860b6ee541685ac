"""The SAML endpoints (docs/saml.md): metadata, SSO, unsolicited SSO, single logout."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, request

from ...web.security_headers import register_form_target_resolver
from . import idpmeta, inbound, pages, registry, slo, sso
from .xmlsafe import SamlInputError

if TYPE_CHECKING:
    from ...runtime import Runtime


def make_blueprint(runtime: Runtime) -> Blueprint:
    """The ``saml`` blueprint; the logout form may lead to this session's suppliers (single logout)."""
    bp = Blueprint("saml", __name__)
    bp.record_once(lambda state: register_form_target_resolver(state.app, slo.logout_form_targets))

    @bp.errorhandler(SamlInputError)
    def _refused(exc: SamlInputError):
        return pages.refused_message(exc.message)

    @bp.get("/saml/metadata")
    def metadata():
        rt = current_app.extensions["broker"]
        registry.maybe_refresh_in_background(rt)
        response = Response(idpmeta.metadata(rt), mimetype="application/samlmetadata+xml")
        response.headers["Cache-Control"] = "public, max-age=3600"
        return response

    @bp.route("/saml/sso", methods=["GET", "POST"])
    def sso_endpoint():
        registry.maybe_refresh_in_background(current_app.extensions["broker"])
        received = inbound.receive(request.method, request.args, request.form, request.query_string)
        return sso.authn_request(received)

    @bp.get("/saml/unsolicited")
    def unsolicited():
        args = request.args
        return sso.unsolicited(args.get("providerId"), args.get("target"), args.get("shire"))

    @bp.get("/saml/resume")
    def resume():
        return sso.resume(request.args.get("k", ""))

    @bp.route("/saml/slo", methods=["GET", "POST"])
    def slo_endpoint():
        received = inbound.receive(request.method, request.args, request.form, request.query_string)
        return slo.handle(received)

    @bp.get("/saml/logout/<key>")
    def logout_round(key: str):
        return slo.continue_round(key)

    return bp


def deep_link(supplier: Any, target: str | None) -> str:
    """Where ``/go/<supplier>`` sends a patron: the unsolicited SSO URL for the supplier's entity ID."""
    if not supplier.saml_entity_id:
        return supplier.login_url or "/"
    params = {"providerId": supplier.saml_entity_id}
    try:
        if target and inbound.check_relay_state(target, "target"):
            params["target"] = target
    except SamlInputError:
        pass  # one that would only get an error page is dropped: the patron still reaches the resource
    return f"/saml/unsolicited?{urlencode(params)}"
