"""The demo OpenID Connect relying party, written plainly: requests for HTTP, pyjwkest to check the ID token.

Authorization code flow with PKCE (S256), a ``state`` and a ``nonce``; the
code is exchanged at the token endpoint with the client secret
(``client_secret_basic``); the ID token's signature is checked against the
JWKS that Sésame's discovery document names, then its issuer, audience,
expiry and nonce. Nothing here uses Authlib, which Sésame's provider side is
built on.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from typing import Any
from urllib.parse import urlencode

import requests
from jwkest import JWKESTException
from jwkest.jwk import load_jwks
from jwkest.jws import JWS

from .kinds import OIDC, DemoSupplierError

SCOPE = "openid profile email library"
HTTP_TIMEOUT = 10
DISCOVERY_TTL = 300
#: the signing algorithms this relying party accepts for ID tokens
ALGORITHMS = ("RS256", "ES256")
#: clock skew tolerated on iat and exp
LEEWAY = 60
#: claims about the token itself, shown after the claims about the patron
TECHNICAL = ("iss", "aud", "azp", "exp", "iat", "auth_time", "nonce", "at_hash", "sid", "jti", "acr", "amr")

_cache: dict[str, tuple[float, Any]] = {}
_lock = threading.Lock()


class OidcRpError(DemoSupplierError):
    """The provider's answer (or its discovery document, keys or ID token) could not be used."""


def _get_json(url: str, *, ttl: float | None = None, fresh: bool = False) -> Any:
    with _lock:
        found = _cache.get(url)
    if found and ttl and not fresh and time.monotonic() - found[0] < ttl:
        return found[1]
    try:
        response = requests.get(url, timeout=HTTP_TIMEOUT, headers={"Accept": "application/json"})
        response.raise_for_status()
        data = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise OidcRpError(f"{url} cannot be read ({type(exc).__name__})") from None
    if ttl:
        with _lock:
            _cache[url] = (time.monotonic(), data)
    return data


def discovery(base_url: str) -> dict[str, Any]:
    data = _get_json(base_url.rstrip("/") + "/.well-known/openid-configuration", ttl=DISCOVERY_TTL)
    for key in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(data.get(key), str):
            raise OidcRpError(f"the discovery document has no {key}")
    return data


def start(base_url: str, client_id: str) -> tuple[str, dict[str, str]]:
    """(authorization URL, what to keep until the callback: state, nonce, PKCE verifier)."""
    meta = discovery(base_url)
    pending = {"state": secrets.token_urlsafe(24), "nonce": secrets.token_urlsafe(24),
               "verifier": secrets.token_urlsafe(48)}
    challenge = base64.urlsafe_b64encode(hashlib.sha256(pending["verifier"].encode()).digest()).decode().rstrip("=")
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": OIDC.url(base_url, "callback"),
              "scope": SCOPE, "state": pending["state"], "nonce": pending["nonce"],
              "code_challenge": challenge, "code_challenge_method": "S256"}
    return f"{meta['authorization_endpoint']}?{urlencode(params)}", pending


def finish(base_url: str, client_id: str, client_secret: str, code: str, pending: dict[str, str]) -> dict[str, Any]:
    """Exchange the code, check the ID token, read userinfo: what the relying party received."""
    meta = discovery(base_url)
    try:
        answer = requests.post(meta["token_endpoint"], auth=(client_id, client_secret), timeout=HTTP_TIMEOUT,
                               data={"grant_type": "authorization_code", "code": code,
                                     "redirect_uri": OIDC.url(base_url, "callback"),
                                     "code_verifier": pending["verifier"]})
        tokens = answer.json()
    except (requests.RequestException, ValueError) as exc:
        raise OidcRpError(f"the token endpoint cannot be reached ({type(exc).__name__})") from None
    if answer.status_code != 200 or not isinstance(tokens.get("id_token"), str):
        raise OidcRpError(f"the token endpoint refused the code: {tokens.get('error', answer.status_code)}")
    claims = check_id_token(meta, tokens["id_token"], client_id, pending["nonce"])
    userinfo: dict[str, Any] = {}
    if tokens.get("access_token") and meta.get("userinfo_endpoint"):
        try:
            info = requests.get(meta["userinfo_endpoint"], timeout=HTTP_TIMEOUT,
                                headers={"Authorization": f"Bearer {tokens['access_token']}"})
            if info.status_code == 200:
                userinfo = info.json()
        except (requests.RequestException, ValueError):
            userinfo = {}
        if userinfo.get("sub") != claims["sub"]:
            userinfo = {}  # OpenID Connect Core §5.3.2: a different sub must not be used
    merged = {**userinfo, **claims}
    patron = [(k, _values(v)) for k, v in merged.items() if k not in TECHNICAL and k != "sub"]
    token = [(k, _values(merged[k])) for k in TECHNICAL if k in merged]
    return {"sub": claims["sub"], "values": patron + token, "library": merged.get("library"),
            "network": merged.get("network")}


def _values(value: Any) -> list[str]:
    if isinstance(value, list):
        return [v if isinstance(v, str) else json.dumps(v) for v in value]
    return [value if isinstance(value, str) else json.dumps(value)]


def check_id_token(meta: dict[str, Any], id_token: str, client_id: str, nonce: str) -> dict[str, Any]:
    """The ID token's claims once its signature (Sésame's JWKS) and its claims are checked."""
    try:
        header = json.loads(base64.urlsafe_b64decode(id_token.split(".")[0] + "=="))
    except (ValueError, IndexError):
        raise OidcRpError("the ID token is not a JWS") from None
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise OidcRpError(f"the ID token is signed with {alg!r}, not one of {', '.join(ALGORITHMS)}")
    claims = None
    for fresh in (False, True):  # a key unknown to the cached JWKS: read it again once (key rollover)
        keys = load_jwks(json.dumps(_get_json(meta["jwks_uri"], ttl=DISCOVERY_TTL, fresh=fresh)))
        try:
            claims = JWS().verify_compact(id_token, keys, sigalg=alg)
            break
        except (JWKESTException, ValueError, TypeError, KeyError) as exc:
            if fresh:
                raise OidcRpError(f"the ID token's signature is not valid ({type(exc).__name__})") from None
    now = time.time()
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    problems = [
        (claims.get("iss") != meta["issuer"], "its issuer is not Sésame's"),
        (client_id not in audiences, "it is meant for another client"),
        (len(audiences) > 1 and claims.get("azp") != client_id, "azp does not name this client"),
        (not isinstance(claims.get("exp"), (int, float)) or claims["exp"] < now - LEEWAY, "it has expired"),
        (not isinstance(claims.get("iat"), (int, float)) or claims["iat"] > now + LEEWAY, "it is issued in the future"),
        (claims.get("nonce") != nonce, "its nonce is not the one sent"),
        (not isinstance(claims.get("sub"), str) or not claims["sub"], "it has no subject"),
    ]
    for failed, why in problems:
        if failed:
            raise OidcRpError(f"the ID token is refused: {why}")
    return claims
