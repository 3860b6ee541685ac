"""Authlib's authorization server, fitted to Sésame: grants, client authentication, endpoints.

Authlib does the protocol checks (RFC 6749, 7636, 7009, 7662, OpenID Connect
Core, RP-initiated logout); this module says where clients, codes and tokens
live and what a patron's claims are. One server per runtime.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.integrations.flask_oauth2.requests import FlaskOAuth2Payload, FlaskOAuth2Request
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidClientError, InvalidGrantError, InvalidRequestError
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oidc.core import grants as oidc_grants
from authlib.oidc.core.util import create_half_hash
from authlib.oidc.rpinitiated import EndSessionEndpoint
from flask import request as flask_request

from .clients import OidcClient, find_client
from .signing import Signer
from .token_entries import CodeEntry
from .tokens import AuthCode, OidcUser, StoredToken, TokenStore

if TYPE_CHECKING:
    from ...runtime import Runtime

AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]
CONFIDENTIAL_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"]


class BrokerPayload(FlaskOAuth2Payload):
    """The request's parameters, looked up once (Authlib reads ``data`` some thirty times per request)."""

    @cached_property
    def data(self):
        return self._request.values


class BrokerRequest(FlaskOAuth2Request):
    """Authlib's Flask request without its per-request https check.

    Whether the broker is served over TLS is the deployment's business
    (``base_url``, ``trust_proxy``); behind a TLS proxy every request looks like
    plain http to the app, and Authlib would refuse it. ``request`` is the
    request object itself, not Flask's context proxy (one indirection less on
    every read).
    """

    def __init__(self, request) -> None:  # noqa: D107 - mirrors OAuth2Request.__init__
        self.method = request.method
        self.headers = request.headers
        self._body = None
        self._request = request
        self.payload = BrokerPayload(request)
        self.client = None
        self.auth_method = None
        self.user = None
        self.authorization_code = None
        self.refresh_token = None
        self.credential = None
        self._scope = None

    @property
    def uri(self) -> str:
        """The full request URL, built only when asked (no grant or endpoint in use reads it)."""
        return self._request.url


class PkceS256(CodeChallenge):
    """PKCE with S256 only: required from public clients, accepted from confidential ones."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant, redirect_uri) -> None:
        data = grant.request.payload.data
        challenge = data.get("code_challenge")
        method = data.get("code_challenge_method")
        if grant.request.client.public and not challenge:
            raise InvalidRequestError("PKCE (code_challenge with code_challenge_method=S256) is required")
        if (challenge or method) and method != "S256":
            raise InvalidRequestError("code_challenge_method must be S256")
        super().validate_code_challenge(grant, redirect_uri)


class CodeGrant(grants.AuthorizationCodeGrant):
    """Authorization code grant with codes in the state store (single use, short-lived)."""

    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    @staticmethod
    def validate_authorization_redirect_uri(request, client: OidcClient) -> str:
        # Exact match on a registered URI; the message never echoes the request (Authlib's would).
        redirect_uri = request.payload.redirect_uri
        if not redirect_uri:
            raise InvalidRequestError("Missing 'redirect_uri' in request.")
        if not client.check_redirect_uri(redirect_uri):
            raise InvalidRequestError("'redirect_uri' is not registered for this client.")
        return redirect_uri

    def generate_authorization_code(self) -> str:
        return self.server.tokens.new_code()

    def save_authorization_code(self, code: str, request) -> None:
        user: OidcUser = request.user
        data = request.payload.data
        challenge = data.get("code_challenge") or None
        entry = CodeEntry(request.client.client_id, user.uid, request.payload.redirect_uri, request.scope or "",
                          user.auth_time, user.claims, user.sid, data.get("nonce") or None, challenge,
                          (data.get("code_challenge_method") or "S256") if challenge else None)
        self.server.tokens.save_code(code, entry)

    def query_authorization_code(self, code: str, client: OidcClient) -> AuthCode | None:
        return self.server.tokens.take_code(code, client)

    def delete_authorization_code(self, authorization_code: AuthCode) -> None:
        pass  # taken (read and deleted at once) when it was queried

    def authenticate_user(self, authorization_code: AuthCode) -> OidcUser:
        return authorization_code.user


class IdTokens(oidc_grants.OpenIDCode):
    """Adds the ID token to the code grant's answer, signed with the instance's current key."""

    def __init__(self, server: OidcServer) -> None:
        super().__init__(require_nonce=False)
        self.server = server

    def exists_nonce(self, nonce: str, request) -> bool:
        return False  # the relying party checks its own nonce; the OP only echoes it

    def generate_user_info(self, user: OidcUser, scope: str) -> dict[str, Any]:
        return dict(user.claims)

    def encode_id_token(self, token: dict[str, Any], request) -> str:
        client: OidcClient = request.client
        user: OidcUser = request.user
        alg = client.id_token_alg
        now = int(self.server.runtime.clock.wall())
        claims: dict[str, Any] = {"iss": self.server.issuer, "aud": client.client_id, "iat": now,
                                  "exp": now + self.server.runtime.settings.oidc_access_token_lifetime,
                                  "auth_time": user.auth_time, "amr": ["pwd"]}
        code = request.authorization_code
        if code is not None and code.get_nonce():
            claims["nonce"] = code.get_nonce()
        at_hash = create_half_hash(token["access_token"], alg)
        if at_hash is not None:
            claims["at_hash"] = at_hash.decode()
        claims.update(user.claims)
        if code is not None and code.entry.sid:
            claims["sid"] = code.entry.sid  # back-channel logout names this session
        return self.server.signer.sign(claims, alg)


class RefreshGrant(grants.RefreshTokenGrant):
    """Refresh tokens, rotated on every use; the access decision runs again before each token."""

    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> StoredToken | None:
        return self.server.tokens.take_refresh(refresh_token, self.request.client)

    def authenticate_user(self, refresh_token: StoredToken) -> OidcUser:
        scope = self.request.payload.scope or refresh_token.scope  # a narrower scope was checked by Authlib
        user = self.server.decide(self.request.client, refresh_token.uid, scope)
        if user is None:
            self.server.tokens.revoke_grant(refresh_token.grant,
                                            self.server.tokens.grant_lifetime(self.request.client))
            raise InvalidGrantError("Access is no longer granted to this patron.")
        return OidcUser(user.uid, refresh_token.entry.auth_time or user.auth_time, user.claims, refresh_token.grant)

    def revoke_old_credential(self, refresh_token: StoredToken) -> None:
        pass  # taken (read and deleted at once) when it was authenticated


class PrivateKeyJwt(JWTBearerClientAssertion):
    """``private_key_jwt`` (RFC 7523): a JWT signed with a key of the client's registered JWKS."""

    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self, server: OidcServer) -> None:
        super().__init__(validate_jti=True, leeway=30)
        self.server = server

    def get_audiences(self) -> list[str]:
        base = self.server.issuer
        return [f"{base}/oidc/token", base, f"{base}/oidc/revoke", f"{base}/oidc/introspect"]

    def validate_jti(self, claims, jti) -> bool:
        ttl = int(claims.get("exp", 0) - self.server.runtime.clock.wall()) + self.leeway
        return self.server.tokens.first_use_of_jti(str(claims["sub"]), str(jti), max(ttl, self.leeway))

    def resolve_client_public_key(self, client: OidcClient):
        if client.jwks is None:
            raise InvalidClientError(description="The client has no registered JWKS.")
        return client.jwks


def _require_token(request) -> None:
    # token_type_hint is only a hint: both kinds are searched whatever it says (RFC 7662 §2.1)
    if not request.form.get("token"):
        raise InvalidRequestError("Missing 'token' in request.")


class Revocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS = AUTH_METHODS

    def check_params(self, request, client) -> None:
        _require_token(request)

    def query_token(self, token_string: str, token_type_hint: str | None) -> StoredToken | None:
        return self.server.tokens.find(token_string, token_type_hint)

    def revoke_token(self, token: StoredToken, request) -> None:
        self.server.tokens.revoke(token, request.client)


class Introspection(IntrospectionEndpoint):
    CLIENT_AUTH_METHODS = CONFIDENTIAL_AUTH_METHODS

    def check_params(self, request, client) -> None:
        _require_token(request)

    def query_token(self, token_string: str, token_type_hint: str | None) -> StoredToken | None:
        return self.server.tokens.find(token_string, token_type_hint)

    def check_permission(self, token: StoredToken, client: OidcClient, request) -> bool:
        return token.check_client(client)  # a client may introspect only its own tokens

    def introspect_token(self, token: StoredToken) -> dict[str, Any]:
        entry = token.entry
        return {"active": True, "client_id": token.client_id, "scope": token.scope, "sub": entry.subject,
                "aud": token.client_id, "iss": self.server.issuer, "exp": entry.expires_at, "iat": entry.issued_at,
                "token_type": "Bearer" if token.kind == "access_token" else "refresh_token"}


class EndSession(EndSessionEndpoint):
    """RP-initiated logout: Authlib checks ``id_token_hint`` and the post-logout URI; the view logs out."""

    def get_server_jwks(self):
        return self.server.signer.public_keyset()

    def get_algorithms(self) -> list[str]:
        return ["RS256", "ES256"]

    def end_session(self, end_session_request) -> None:
        pass  # the view ends the broker session itself (which runs the broker_patron_logout hooks)


class OidcServer(AuthorizationServer):
    """The OpenID provider of one runtime."""

    def __init__(self, runtime: Runtime, decide) -> None:
        super().__init__()
        self.runtime = runtime
        self.issuer = runtime.settings.base_url.rstrip("/")
        self.tokens = TokenStore(runtime)
        self.signer = Signer(runtime)
        #: ``decide(client, uid, scope) -> OidcUser | None``: the access decision and the claims
        self.decide = decide
        self.scopes_supported = None  # unknown scopes are dropped (get_allowed_scope), not refused
        self._query_client = lambda client_id: find_client(runtime, client_id)
        self.register_token_generator("default", BearerTokenGenerator(
            self._new_token, self._new_token, lambda client, grant_type: runtime.settings.oidc_access_token_lifetime))
        self.register_client_auth_method("private_key_jwt", PrivateKeyJwt(self))
        self.register_grant(CodeGrant, [PkceS256(required=True), IdTokens(self)])
        self.register_grant(RefreshGrant)
        self.register_endpoint(Revocation(self))
        self.register_endpoint(Introspection(self))
        self.register_endpoint(EndSession(self))

    def _new_token(self, client, grant_type, user: OidcUser, scope) -> str:
        return self.tokens.new_token(user.grant)

    def create_oauth2_request(self, request) -> BrokerRequest:
        return BrokerRequest(flask_request._get_current_object())

    def save_token(self, token: dict[str, Any], request) -> None:
        user: OidcUser = request.user
        self.tokens.save_tokens(access_token=token["access_token"], refresh_token=token.get("refresh_token"),
                                client_id=request.client.client_id, uid=user.uid, scope=token.get("scope", ""),
                                grant=user.grant, auth_time=user.auth_time, claims=user.claims)

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        pass  # no Flask signals: nothing listens, and they cost a lookup per request
