"""The OpenID provider's endpoints: discovery, JWKS, authorize, token, userinfo, revoke, introspect, logout."""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from authlib.common.urls import add_params_to_uri
from authlib.oauth2 import OAuth2Error
from flask import Blueprint, jsonify, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms import ValidationError

from ...services import persons
from ...web.patron_session import LoggedPatron, current_patron
from ...web.security_headers import allow_form_action, register_form_target_resolver
from .. import issuance
from ..portal_handoff import (
    FRESH,
    end_patron_session,
    fresh_marker,
    fresh_since,
    preferred_lang,
    refusal_page,
    request_pairs,
    send_to_login,
    with_params,
)
from . import backchannel
from .claims import SCOPE_CLAIMS, claims_for
from .clients import ID_TOKEN_ALGS, SCOPES, OidcClient, find_client
from .server import AUTH_METHODS, CONFIDENTIAL_AUTH_METHODS, OidcServer
from .tokens import OidcUser

if TYPE_CHECKING:
    from ...runtime import Runtime

log = logging.getLogger("broker.oidc")

#: what a patron reads when the request cannot go back to the client (unverified redirect URI)
PAGE_MESSAGES = {
    "invalid_client": lambda: _("Ce service n'est pas enregistré auprès de Sésame."),
    "invalid_request": lambda: _("La demande de connexion envoyée par le service n'est pas valide."),
    "unsupported_response_type": lambda: _("Ce service demande un mode de connexion que Sésame ne propose pas."),
}
CORS_ENDPOINTS = {"oidc.discovery", "oidc.jwks", "oidc.token", "oidc.userinfo", "oidc.revoke", "oidc.introspect"}


def metadata(server: OidcServer) -> dict[str, Any]:
    """The discovery document (OpenID Connect Discovery 1.0, RFC 8414)."""
    base = server.issuer
    claims = sorted({c for cs in SCOPE_CLAIMS.values() for c in cs} | {"iss", "aud", "exp", "iat", "auth_time",
                                                                       "nonce", "at_hash", "amr", "sid"})
    return {
        "issuer": base,
        "authorization_endpoint": f"{base}/oidc/authorize",
        "token_endpoint": f"{base}/oidc/token",
        "userinfo_endpoint": f"{base}/oidc/userinfo",
        "jwks_uri": f"{base}/oidc/jwks",
        "end_session_endpoint": f"{base}/oidc/logout",
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        "revocation_endpoint": f"{base}/oidc/revoke",
        "introspection_endpoint": f"{base}/oidc/introspect",
        "scopes_supported": list(SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": list(ID_TOKEN_ALGS),
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "ES256"],
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        "introspection_endpoint_auth_methods_supported": CONFIDENTIAL_AUTH_METHODS,
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": claims,
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "prompt_values_supported": ["none", "login"],
        "ui_locales_supported": ["fr", "en"],
        "claim_types_supported": ["normal"],
    }


def _page(status: int, message: str):
    from ..portal_handoff import error_page

    return error_page(status, "oidc", message, template="oidc/error.html")


def _to_client(redirect_uri: str, error: str, description: str | None = None):
    """An error sent back to a verified redirect URI, with the client's state."""
    params = [("error", error)]
    if description:
        params.append(("error_description", description))
    state = request.values.get("state")
    if state:
        params.append(("state", state))
    return redirect(add_params_to_uri(redirect_uri, params), 302)


def _max_age() -> int | None | bool:
    """The max_age parameter: None when absent, False when malformed."""
    raw = request.values.get("max_age")
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 10:
        return False
    return int(raw)


def make_blueprint(runtime: Runtime) -> Blueprint:
    bp = Blueprint("oidc", __name__)

    def decide(client: OidcClient, uid: str, scope: str, auth_time: int = 0,
               patron: LoggedPatron | None = None) -> tuple[OidcUser | None, Any]:
        result = issuance.decide(runtime, client.supplier, uid, "oidc", patron=patron)
        if not result.granted:
            return None, result.outcome
        return OidcUser(uid, auth_time, claims_for(result.attributes, result.subject, scope)), result.outcome

    def form_targets(target: str) -> list[str] | None:
        """Where a form whose answer leads to ``target`` ends: the client's registered redirect URI."""
        parts = urlsplit(target)
        if parts.path not in ("/oidc/authorize", "/oidc/logout"):
            return None
        args = parse_qs(parts.query)
        client = find_client(runtime, (args.get("client_id") or [None])[0])
        if client is None:
            return []
        asked = (args.get("redirect_uri") or args.get("post_logout_redirect_uri") or [None])[0]
        known = client.redirect_uris if parts.path == "/oidc/authorize" else client.post_logout_redirect_uris
        return [asked] if asked in known else []

    bp.record_once(lambda state: register_form_target_resolver(state.app, form_targets))

    server = OidcServer(runtime, lambda client, uid, scope: decide(client, uid, scope)[0])
    runtime.oidc_server = server  # for back-channel logout, which runs outside the blueprint
    discovery_doc = metadata(server)

    @bp.after_request
    def _headers(response):
        if request.endpoint in CORS_ENDPOINTS:
            response.headers["Access-Control-Allow-Origin"] = "*"
            response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
        if request.endpoint not in ("oidc.discovery", "oidc.jwks"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @bp.get("/.well-known/openid-configuration")
    def discovery():
        response = jsonify(discovery_doc)
        response.headers["Cache-Control"] = "public, max-age=3600"
        return response

    @bp.get("/oidc/jwks")
    def jwks():
        response = jsonify(server.signer.jwks())
        response.headers["Cache-Control"] = "public, max-age=300"
        return response

    @bp.route("/oidc/authorize", methods=["GET", "POST"])
    def authorize():
        patron = current_patron()
        values = request.values
        if values.get("response_type") != "code":
            return _not_code(runtime)
        try:
            grant = server.get_consent_grant(end_user=patron)
        except OAuth2Error as error:
            if error.redirect_uri:
                return server.handle_error_response(None, error)
            message = PAGE_MESSAGES.get(error.error, PAGE_MESSAGES["invalid_request"])()
            return _page(400, message)
        except ValueError:  # Authlib refuses to echo a malformed parameter in an error description
            return _page(400, PAGE_MESSAGES["invalid_request"]())
        client: OidcClient = grant.request.client
        redirect_uri = grant.redirect_uri
        if values.get("request"):
            return _to_client(redirect_uri, "request_not_supported")
        if values.get("request_uri"):
            return _to_client(redirect_uri, "request_uri_not_supported")
        if values.get("response_mode", "query") != "query":
            return _to_client(redirect_uri, "invalid_request", "Only response_mode=query is supported.")
        prompts = set((values.get("prompt") or "").split())
        if "none" in prompts and len(prompts) > 1:
            return _to_client(redirect_uri, "invalid_request", "prompt=none cannot be combined.")
        if "consent" in prompts or "select_account" in prompts:
            # no consent or account-choice step exists: say so rather than pretend (OpenID Connect Core §3.1.2.6)
            error = "consent_required" if "consent" in prompts else "account_selection_required"
            return _to_client(redirect_uri, error, "This prompt value is not supported.")
        max_age = _max_age()
        if max_age is False:
            return _to_client(redirect_uri, "invalid_request", "Invalid max_age.")

        hinted = _hinted_subject(server, values.get("id_token_hint"))
        if hinted is False:
            return _to_client(redirect_uri, "invalid_request", "Invalid id_token_hint.")

        # a fresh login is owed when asked (prompt=login, max_age) and not yet proven by a signed marker
        since = fresh_since(runtime, values.get(FRESH))
        owed_since = None
        if patron is not None and since is None:
            if "login" in prompts or max_age is not None and patron.age_at(runtime.clock.wall()) > max_age:
                owed_since = runtime.clock.wall()
            elif hinted and hinted != persons.subject_for_uid(runtime, patron.uid, client.sector):
                owed_since = runtime.clock.wall()  # the client expects another patron than the one logged in here
        elif patron is not None and since is not None and patron.at < since:
            owed_since = since
        if patron is None or owed_since is not None:
            if "none" in prompts:
                return _to_client(redirect_uri, "login_required")
            pairs = request_pairs(drop=(FRESH,))
            renew = owed_since is not None
            if renew or "login" in prompts or max_age is not None:
                pairs.append((FRESH, fresh_marker(runtime, owed_since or runtime.clock.wall())))
            hint = values.get("login_hint")
            return send_to_login(with_params(url_for("oidc.authorize"), pairs), renew=renew, library=hint,
                                 lang=preferred_lang(values.get("ui_locales")))

        scope = grant.request.scope or ""
        user, outcome = decide(client, patron.uid, scope, int(patron.at), patron)
        if user is None:
            if "none" in prompts:
                return _to_client(redirect_uri, "access_denied", "Access is not granted to this patron.")
            return refusal_page(outcome)
        user = dataclasses.replace(user, sid=backchannel.session_id(patron))
        response = server.create_authorization_response(grant=grant, grant_user=user)
        if 300 <= response.status_code < 400 and "code=" in response.headers.get("Location", ""):
            backchannel.remember(client, user.claims.get("sub", ""))
        return response

    @bp.post("/oidc/token")
    def token():
        return _guarded(server.create_token_response)

    @bp.route("/oidc/userinfo", methods=["GET", "POST"])
    def userinfo():
        header = request.headers.get("Authorization", "")
        bearer = header[7:].strip() if header[:7].lower() == "bearer " else ""
        if not bearer and request.method == "POST" and request.mimetype == "application/x-www-form-urlencoded":
            bearer = request.form.get("access_token", "")
        if not bearer:
            return _bearer_error(401, None)
        stored = server.tokens.access_token(bearer)
        if stored is None:
            return _bearer_error(401, "invalid_token")
        if "openid" not in stored.scope.split():
            return _bearer_error(403, "insufficient_scope")
        return jsonify(stored.entry.claims or {"sub": ""})

    @bp.post("/oidc/revoke")
    def revoke():
        return _guarded(server.create_endpoint_response, "revocation")

    @bp.post("/oidc/introspect")
    def introspect():
        return _guarded(server.create_endpoint_response, "introspection")

    @bp.route("/oidc/logout", methods=["GET", "POST"])
    def logout():
        try:
            req = server.validate_endpoint_request("end_session")
        except OAuth2Error:
            return _page(400, _("La demande de déconnexion envoyée par le service n'est pas valide."))
        client: OidcClient | None = req.client
        patron = current_patron()
        confirm = req.needs_confirmation
        if not confirm and patron is not None and client is not None:
            # the hint names another patron than the one logged in here: ask before logging out
            expected = persons.subject_for_uid(runtime, patron.uid, client.sector)
            confirm = (req.id_token_claims or {}).get("sub") != expected
        confirmed = request.method == "POST" and request.form.get("confirm") == "1"
        if confirmed:
            try:
                validate_csrf(request.form.get("csrf_token"))
            except (ValidationError, CSRFError):
                return _page(400, _("Le formulaire a expiré. Recommencez la déconnexion depuis le service."))
        if patron is not None and confirm and not confirmed:
            allow_form_action(req.redirect_uri)  # the confirmation form ends at the client's logout page
            hidden = [(k, v) for k, v in request_pairs(drop=("confirm", "csrf_token"))]
            return render_template("oidc/logout_confirm.html", client=client, hidden=hidden)
        if patron is not None:
            end_patron_session()
        if req.redirect_uri:
            return redirect(req.redirect_uri, 302)
        back = None
        asked = request.values.get("post_logout_redirect_uri")
        if client is not None and asked and asked in client.post_logout_redirect_uris:
            back = asked
        return render_template("oidc/logged_out.html", client=client, back=back)

    return bp


def _hinted_subject(server: OidcServer, hint: str | None) -> str | None | bool:
    """The ``sub`` of an ``id_token_hint`` we issued (expired ones too); None without hint, False if forged."""
    if not hint:
        return None
    from joserfc import jwt
    from joserfc.errors import JoseError

    try:
        token = jwt.decode(hint, server.signer.public_keyset(), algorithms=["RS256", "ES256"])
    except (JoseError, ValueError, TypeError):
        return False
    if token.claims.get("iss") != server.issuer or not isinstance(token.claims.get("sub"), str):
        return False
    return token.claims["sub"]


def _not_code(runtime: Runtime):
    """Any response_type but ``code``: to the client if its redirect URI is verified, else a page."""
    from .clients import find_client

    values = request.values
    client = find_client(runtime, values.get("client_id"))
    redirect_uri = values.get("redirect_uri")
    if client is None:
        return _page(400, PAGE_MESSAGES["invalid_client"]())
    if not redirect_uri or not client.check_redirect_uri(redirect_uri):
        return _page(400, PAGE_MESSAGES["invalid_request"]())
    if not values.get("response_type"):
        return _to_client(redirect_uri, "invalid_request", "Missing response_type.")
    return _to_client(redirect_uri, "unsupported_response_type", "Only response_type=code is supported.")


def _guarded(endpoint, *args):
    """A JSON endpoint of Authlib, with a malformed parameter answered 400 rather than a crash."""
    try:
        return endpoint(*args)
    except ValueError:  # Authlib refuses to echo a malformed parameter in an error description
        return make_response(jsonify(error="invalid_request"), 400)


def _bearer_error(status: int, error: str | None):
    """RFC 6750 §3: the challenge says what is wrong with the bearer token."""
    challenge = 'Bearer realm="sesame"'
    body: dict[str, str] = {}
    if error:
        challenge += f', error="{error}"'
        body["error"] = error
    response = make_response(jsonify(body or {"error": "invalid_request"}), status)
    response.headers["WWW-Authenticate"] = challenge
    return response
