"""OpenID Connect clients: registered on Supplier rows, looked up from a per-process cache.

A client's settings live in ``Supplier.config["oidc"]``: redirect URIs,
post-logout redirect URIs, whether it is public, whether it gets refresh
tokens, the keyed hash of its secret, its public JWKS (for ``private_key_jwt``)
and the algorithm of its ID tokens. Secrets are random and high-entropy, so a
fast keyed hash (``runtime.keys.token_hash``) is enough: no argon2 on the
token endpoint.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import select
from sqlalchemy.orm import Session

from ... import clock
from ...db.models import Supplier
from ...errors import Conflict, InvalidInput
from ...services import audit, validation
from ...services import suppliers as supplier_service
from ...services.release import sector_of
from ...web.redirects import sendable
from ..registry_cache import invalidate, registry

if TYPE_CHECKING:
    from ...runtime import Runtime

SCOPES = ("openid", "profile", "email", "library")
ID_TOKEN_ALGS = ("RS256", "ES256")
SECRET_AUTH_METHODS = ("client_secret_basic", "client_secret_post")
MAX_URI = 500


@dataclass(frozen=True)
class OidcClient:
    """A registered relying party, as Authlib's ClientMixin wants it."""

    client_id: str
    supplier_id: int
    slug: str
    name: str
    sector: str
    public: bool
    refresh: bool
    redirect_uris: tuple[str, ...]
    post_logout_redirect_uris: tuple[str, ...]
    id_token_alg: str = "RS256"
    #: where a logout_token is POSTed when a patron's Sésame session ends ("" when not registered)
    backchannel_logout_uri: str = ""
    secret_hash: str = field(default="", repr=False)
    #: the secret replaced by a rotation, accepted until ``previous_until`` (seconds since the epoch)
    previous_secret_hash: str = field(default="", repr=False)
    previous_until: float = 0.0
    jwks: KeySet | None = field(default=None, repr=False, compare=False)
    hash_secret: Callable[[str], str] | None = field(default=None, repr=False, compare=False)
    #: the Supplier row (with its networks, detached) for the access decision
    supplier: Supplier | None = field(default=None, repr=False, compare=False)

    # -- Authlib's ClientMixin ---------------------------------------------------------
    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return None  # OpenID Connect requires redirect_uri on every request

    def get_allowed_scope(self, scope: str | None) -> str:
        if not scope:
            return ""
        asked = scope.split()
        return " ".join(dict.fromkeys(s for s in asked if s in SCOPES))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris  # exact match, no prefix or pattern

    def check_client_secret(self, client_secret: str) -> bool:
        if self.public or not self.secret_hash or self.hash_secret is None:
            return False
        given = self.hash_secret(client_secret)
        if hmac.compare_digest(given, self.secret_hash):
            return True
        # during a rotation's grace period the supplier may still send the old secret
        return bool(self.previous_secret_hash) and clock.utcnow().timestamp() < self.previous_until \
            and hmac.compare_digest(given, self.previous_secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.public:
            return method == "none"
        if method in SECRET_AUTH_METHODS:
            return bool(self.secret_hash)
        if method == "private_key_jwt":
            return self.jwks is not None
        return False

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        if grant_type == "authorization_code":
            return True
        return grant_type == "refresh_token" and self.refresh

    @property
    def client_metadata(self) -> dict[str, Any]:
        return {"post_logout_redirect_uris": list(self.post_logout_redirect_uris)}

    @property
    def id_token_signed_response_alg(self) -> str:
        return self.id_token_alg


def _client_from_row(row: Supplier, hash_secret: Callable[[str], str]) -> OidcClient | None:
    conf = (row.config or {}).get("oidc") or {}
    if not row.oidc_client_id:
        return None
    jwks = None
    if conf.get("jwks"):
        try:
            jwks = KeySet.import_key_set(conf["jwks"])
        except (JoseError, ValueError, TypeError, KeyError):
            jwks = None  # registration validated it; a damaged row just loses private_key_jwt
    return OidcClient(
        client_id=row.oidc_client_id, supplier_id=row.id, slug=row.slug, name=row.name, sector=sector_of(row),
        public=bool(conf.get("public")), refresh=bool(conf.get("refresh")),
        redirect_uris=tuple(conf.get("redirect_uris") or ()),
        post_logout_redirect_uris=tuple(conf.get("post_logout_redirect_uris") or ()),
        id_token_alg=conf.get("id_token_alg") or "RS256",
        backchannel_logout_uri=conf.get("backchannel_logout_uri") or "", secret_hash=conf.get("secret_hash") or "",
        previous_secret_hash=conf.get("previous_secret_hash") or "",
        previous_until=float(conf.get("previous_until") or 0),
        jwks=jwks, hash_secret=hash_secret, supplier=row,
    )


def clients(runtime: Runtime) -> dict[str, OidcClient]:
    """Every enabled OIDC client of this instance by client_id (cached per process)."""

    def build(rows: list[Supplier]) -> dict[str, OidcClient]:
        found = (_client_from_row(r, runtime.keys.token_hash) for r in rows)
        return {c.client_id: c for c in found if c is not None}

    return registry(runtime, "oidc", build).get()


def find_client(runtime: Runtime, client_id: str | None) -> OidcClient | None:
    if not client_id or len(client_id) > 100:
        return None
    return clients(runtime).get(client_id)


# -- registration -------------------------------------------------------------------------
def _loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def check_redirect_uri(uri: str, *, public: bool, what: str = "redirect URI") -> str:
    """A redirect URI a client may register: absolute, no fragment, https (http on loopback only)."""
    uri = (uri or "").strip()
    if not uri or len(uri) > MAX_URI or any(c.isspace() or ord(c) < 0x20 for c in uri):
        raise InvalidInput(f"{what} {uri[:80]!r}: expected an absolute URL of at most {MAX_URI} characters")
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError:
        raise InvalidInput(f"{what} {uri!r}: not a valid URL") from None
    if sendable(uri) != uri:  # it goes out in a Location header: exactly as registered, ASCII
        raise InvalidInput(f"{what} {uri!r}: not a URL that can be sent as it is (encode it: ASCII, a valid host)")
    if parts.fragment or "#" in uri:
        raise InvalidInput(f"{what} {uri!r}: must not contain a fragment (#…)")
    if parts.scheme == "https" and parts.hostname:
        return uri
    if parts.scheme == "http" and _loopback(parts.hostname):
        return uri
    # RFC 8252 §7.1: native apps (public clients) may use a private-use scheme like com.example.app:/cb
    if public and "." in parts.scheme and parts.scheme not in ("http", "https") and parts.path:
        return uri
    raise InvalidInput(f"{what} {uri!r}: expected https:// (http:// only on localhost)")


def parse_jwks(text: str | dict | None) -> dict | None:
    """A client's public JWKS (for private_key_jwt): public RSA or EC keys only."""
    if not text:
        return None
    try:
        data = json.loads(text) if isinstance(text, str) else text
        keyset = KeySet.import_key_set(data)
    except (ValueError, TypeError, KeyError, JoseError) as exc:
        raise InvalidInput(f"jwks: not a valid JSON Web Key Set ({type(exc).__name__})") from None
    if not keyset.keys:
        raise InvalidInput("jwks: the key set is empty")
    for key in keyset.keys:
        if key.key_type not in ("RSA", "EC") or key.is_private:
            raise InvalidInput("jwks: expected public RSA or EC keys only (never a private key)")
    return {"keys": [k.as_dict(private=False) for k in keyset.keys]}


@dataclass(frozen=True)
class Registration:
    """What `add-oidc` prints: the secret is shown once, never stored in clear."""

    slug: str
    client_id: str
    client_secret: str | None
    public: bool
    redirect_uris: tuple[str, ...]


def register(runtime: Runtime, session: Session, slug: str, *, redirect_uris: Iterable[str], networks: Iterable[str] = (),
             name: str | None = None, public: bool = False, post_logout_redirect_uris: Iterable[str] = (),
             login_url: str = "", refresh: bool = False, release: str | list[str] | None = None,
             jwks: str | dict | None = None, id_token_alg: str = "RS256", sector: str | None = None,
             backchannel_logout_uri: str = "", actor: str = "cli") -> Registration:
    """Make a supplier an OIDC client (creating the supplier when new); returns its credentials."""
    uris = tuple(dict.fromkeys(check_redirect_uri(u, public=public) for u in redirect_uris))
    if not uris:
        raise InvalidInput("an OIDC client needs at least one --redirect-uri")
    logout_uris = tuple(dict.fromkeys(check_redirect_uri(u, public=public, what="post-logout redirect URI")
                                      for u in post_logout_redirect_uris))
    if id_token_alg not in ID_TOKEN_ALGS:
        raise InvalidInput(f"id_token_alg {id_token_alg!r}: expected one of {', '.join(ID_TOKEN_ALGS)}")
    if login_url:
        check_redirect_uri(login_url, public=False, what="login URL")
    if backchannel_logout_uri:
        backchannel_logout_uri = check_redirect_uri(backchannel_logout_uri, public=False,
                                                    what="back-channel logout URI")
    client_jwks = parse_jwks(jwks)
    if public and client_jwks:
        raise InvalidInput("a public client has no credentials: --jwks needs a confidential client")
    if sector is not None:
        sector = validation.text(sector, "sector", max_len=200)

    client_id = f"{slug}.{secrets.token_hex(8)}"
    client_secret = None if public else secrets.token_urlsafe(32)
    conf: dict[str, Any] = {
        "redirect_uris": list(uris), "post_logout_redirect_uris": list(logout_uris), "public": public,
        "refresh": refresh, "id_token_alg": id_token_alg,
    }
    if client_secret:
        conf["secret_hash"] = runtime.keys.token_hash(client_secret)
    if client_jwks:
        conf["jwks"] = client_jwks
    if backchannel_logout_uri:
        conf["backchannel_logout_uri"] = backchannel_logout_uri

    row = session.scalar(select(Supplier).where(Supplier.slug == slug))
    if row is None:
        config: dict[str, Any] = {"oidc": conf}
        if sector:
            config["sector"] = sector
        row = supplier_service.add_supplier(
            runtime, session, slug, name=name or slug, networks=list(networks), protocol="oidc",
            login_url=login_url, release=release, config=config, actor=actor, oidc_client_id=client_id)
    else:
        if row.protocol not in ("none", ""):
            raise Conflict(f"supplier '{slug}' already uses {row.protocol}; an OIDC client needs a supplier "
                           "without protocol")
        config = dict(row.config or {})
        config["oidc"] = conf
        if sector:
            config["sector"] = sector
        row.config = config
        row.protocol = "oidc"
        row.oidc_client_id = client_id
        supplier_service.update_common(session, row, name=name, login_url=login_url, release=release,
                                       networks=networks)
        session.flush()
        audit.record(runtime, session, actor, "supplier.oidc", slug)
    invalidate(runtime, "oidc")
    return Registration(slug, client_id, client_secret, public, uris)


#: how long a rotated-out secret stays valid by default, and at most (days)
DEFAULT_GRACE_DAYS = 7
MAX_GRACE_DAYS = 90


def rotate_secret(runtime: Runtime, session: Session, row: Supplier, *, grace_days: int = DEFAULT_GRACE_DAYS,
                  actor: str = "cli") -> str:
    """A new client secret (returned once); the old one stays valid ``grace_days`` more days (0: not at all)."""
    conf = dict((row.config or {}).get("oidc") or {})
    if row.protocol != "oidc" or conf.get("public"):
        raise InvalidInput(f"supplier '{row.slug}' is not a confidential OIDC client: it has no secret to rotate")
    if isinstance(grace_days, bool) or not isinstance(grace_days, int) or not 0 <= grace_days <= MAX_GRACE_DAYS:
        raise InvalidInput(f"grace period: expected a whole number of days between 0 and {MAX_GRACE_DAYS}")
    secret = secrets.token_urlsafe(32)
    until = runtime.clock.utcnow().timestamp() + grace_days * 86400
    if conf.get("secret_hash") and grace_days:
        conf["previous_secret_hash"], conf["previous_until"] = conf["secret_hash"], until
    else:
        conf.pop("previous_secret_hash", None)
        conf.pop("previous_until", None)
    conf["secret_hash"] = runtime.keys.token_hash(secret)
    row.config = {**(row.config or {}), "oidc": conf}
    session.flush()
    audit.record(runtime, session, actor, "supplier.oidc.rotate", row.slug, grace_days=grace_days,
                 before={"client_secret": "***"}, after={"client_secret": "***"})
    invalidate(runtime, "oidc")
    return secret


def update_client(runtime: Runtime, session: Session, row: Supplier, *, redirect_uris: Iterable[str] | None = None,
                  post_logout_redirect_uris: Iterable[str] | None = None, refresh: bool | None = None,
                  backchannel_logout_uri: str | None = None) -> None:
    """Change an OIDC client's settings (None: unchanged); each URI checked as at registration."""
    conf = dict((row.config or {}).get("oidc") or {})
    public = bool(conf.get("public"))
    if redirect_uris is not None:
        uris = list(dict.fromkeys(check_redirect_uri(u, public=public) for u in redirect_uris))
        if not uris:
            raise InvalidInput("an OIDC client needs at least one redirect URI")
        conf["redirect_uris"] = uris
    if post_logout_redirect_uris is not None:
        conf["post_logout_redirect_uris"] = list(dict.fromkeys(
            check_redirect_uri(u, public=public, what="post-logout redirect URI") for u in post_logout_redirect_uris))
    if refresh is not None:
        conf["refresh"] = bool(refresh)
    if backchannel_logout_uri is not None:
        if backchannel_logout_uri:
            conf["backchannel_logout_uri"] = check_redirect_uri(backchannel_logout_uri, public=False,
                                                                what="back-channel logout URI")
        else:
            conf.pop("backchannel_logout_uri", None)
    row.config = {**(row.config or {}), "oidc": conf}
    session.flush()
    invalidate(runtime, "oidc")
