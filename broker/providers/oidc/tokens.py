"""Authorization codes, access and refresh tokens, kept in the state store.

Nothing is stored under the secret itself: keys are the keyed hash of the
code or token, so a copy of the store holds no usable bearer credential.
Entries are small JSON objects with short keys (``oidc.token_entries``).

A code carries a MAC of its random part: when a code cannot be taken
(already used, or expired) but the MAC is ours, it was really issued, so the
grant it started is revoked (RFC 6749 §4.1.2) without any write on the normal
path. Every token of a grant carries the grant id; revoking a grant
writes one marker that every later use of its tokens reads in the same round
trip as the token itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ...clock import SYSTEM, Clock
from .token_entries import CodeEntry, TokenEntry, UsedRefresh

if TYPE_CHECKING:
    from ...runtime import Runtime

log = logging.getLogger("broker.oidc")

CODE = "oidc:code:"
ACCESS = "oidc:at:"
REFRESH = "oidc:rt:"
REFRESH_USED = "oidc:rtu:"
REVOKED = "oidc:rg:"
JTI = "oidc:jti:"


@dataclass(frozen=True)
class OidcUser:
    """The patron as a grant sees them: uid, login time, the claims released to this client."""

    uid: str
    auth_time: int
    claims: dict[str, Any] = field(default_factory=dict)
    grant: str = ""
    #: the Sésame session's identifier for back-channel logout ("" outside a browser session)
    sid: str = ""

    def get_user_id(self) -> str:
        return self.claims.get("sub", "")


@dataclass
class AuthCode:
    """A redeemed authorization code (Authlib's AuthorizationCodeMixin)."""

    code: str
    grant: str
    entry: CodeEntry

    def get_redirect_uri(self) -> str | None:
        return self.entry.redirect_uri

    def get_scope(self) -> str:
        return self.entry.scope

    def get_nonce(self) -> str | None:
        return self.entry.nonce

    def get_auth_time(self) -> int | None:
        return self.entry.auth_time

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> list[str]:
        return ["pwd"]

    @property
    def code_challenge(self) -> str | None:
        return self.entry.code_challenge

    @property
    def code_challenge_method(self) -> str | None:
        return self.entry.code_challenge_method

    @property
    def user(self) -> OidcUser:
        return OidcUser(self.entry.uid, self.entry.auth_time or 0, self.entry.claims or {}, self.grant,
                        self.entry.sid)


@dataclass
class StoredToken:
    """An access or refresh token found in the store (Authlib's TokenMixin)."""

    kind: str  # "access_token" or "refresh_token"
    digest: str
    entry: TokenEntry
    revoked: bool = False
    clock: Clock = field(default=SYSTEM, repr=False, compare=False)

    @property
    def grant(self) -> str:
        return self.entry.grant

    @property
    def client_id(self) -> str:
        return self.entry.client_id

    @property
    def uid(self) -> str:
        return self.entry.uid

    @property
    def scope(self) -> str:
        return self.entry.scope

    def check_client(self, client) -> bool:
        return hmac.compare_digest(self.client_id, client.get_client_id())

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return max(0, int(self.entry.expires_at - self.clock.wall()))

    def is_expired(self) -> bool:
        return self.entry.expires_at <= self.clock.wall()

    def is_revoked(self) -> bool:
        return self.revoked


class TokenStore:
    """Codes and tokens of one runtime in its state store."""

    def __init__(self, runtime: Runtime) -> None:
        self.state = runtime.state
        self.settings = runtime.settings
        self.clock = runtime.clock
        self._hash = runtime.keys.token_hash
        #: newest first: codes are signed with the first, those of an older instance secret still count
        self._mac_keys = runtime.keys.mac_keys("oidc-code-mac")

    # -- codes ---------------------------------------------------------------------------
    @staticmethod
    def _code_mac(key: bytes, random_part: str) -> str:
        digest = hmac.new(key, random_part.encode(), hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def new_code(self) -> str:
        random_part = secrets.token_urlsafe(32)
        return f"{random_part}.{self._code_mac(self._mac_keys[0], random_part)}"

    def is_ours(self, code: str) -> bool:
        random_part, _, mac = code.rpartition(".")
        return bool(random_part) and any(hmac.compare_digest(mac, self._code_mac(key, random_part))
                                         for key in self._mac_keys)

    def grant_of(self, code: str) -> str:
        return self._hash(f"grant\x1f{code}")[:32]

    def save_code(self, code: str, entry: CodeEntry) -> None:
        self.state.put(CODE + self._hash(code), entry.to_wire(), self.settings.oidc_code_lifetime)

    def take_code(self, code: str, client) -> AuthCode | None:
        """The code's entry, once; a second use (or a use by another client) revokes its grant."""
        if not code or len(code) > 200 or not self.is_ours(code):
            return None
        grant = self.grant_of(code)
        entry = CodeEntry.from_wire(self.state.take(CODE + self._hash(code)))
        if entry is None or not hmac.compare_digest(entry.client_id, client.get_client_id()):
            # one of ours, used twice, too late or by another client: whatever it gave is revoked
            log.warning("authorization code refused, its grant revoked",
                        extra={"event": {"client": client.get_client_id(), "known": entry is not None}})
            self.revoke_grant(grant, self.grant_lifetime(client))
            return None
        return AuthCode(code, grant, entry)

    # -- tokens --------------------------------------------------------------------------
    def grant_lifetime(self, client) -> int:
        """How long tokens of a grant of ``client`` may live: the revocation marker lives as long."""
        if client is not None and getattr(client, "refresh", False):
            return max(self.settings.oidc_refresh_token_lifetime, self.settings.oidc_access_token_lifetime)
        return self.settings.oidc_access_token_lifetime

    def save_tokens(self, *, access_token: str, refresh_token: str | None, client_id: str, uid: str,
                    scope: str, grant: str, auth_time: int, claims: dict[str, Any]) -> None:
        now = self.clock.wall()
        at_life = self.settings.oidc_access_token_lifetime
        items = [(ACCESS + self._hash(access_token),
                  TokenEntry(client_id, uid, scope, grant, auth_time, int(now), int(now) + at_life,
                             claims=claims).to_wire(), at_life)]
        if refresh_token:
            rt_life = self.settings.oidc_refresh_token_lifetime
            items.append((REFRESH + self._hash(refresh_token),
                          TokenEntry(client_id, uid, scope, grant, auth_time, int(now), int(now) + rt_life,
                                     sub=claims.get("sub", "")).to_wire(), rt_life))
        put_many(self.state, items)

    def new_token(self, grant: str) -> str:
        """A bearer token of ``grant``: the grant id, a dot, 32 random bytes."""
        return f"{grant}.{secrets.token_urlsafe(32)}"

    @staticmethod
    def _grant_in(token: str) -> str | None:
        if not token or len(token) > 200:
            return None
        grant, dot, rest = token.partition(".")
        return grant if dot and grant and rest else None

    def access_token(self, token: str) -> StoredToken | None:
        """A live, unrevoked access token: one round trip for the token and its grant's marker."""
        grant = self._grant_in(token)
        if grant is None:
            return None
        digest = self._hash(token)
        stored, revoked = self.state.get_many([ACCESS + digest, REVOKED + grant])
        entry = TokenEntry.from_wire(stored)
        if entry is None or revoked is not None or entry.grant != grant:
            return None
        return StoredToken("access_token", digest, entry, clock=self.clock)

    def find(self, token: str, hint: str | None = None) -> StoredToken | None:
        """An access or refresh token for revocation and introspection (revoked ones marked)."""
        grant = self._grant_in(token)
        if grant is None:
            return None
        digest = self._hash(token)
        stored = self.state.get_many([ACCESS + digest, REFRESH + digest, REVOKED + grant])
        access, refresh, revoked = TokenEntry.from_wire(stored[0]), TokenEntry.from_wire(stored[1]), stored[2]
        if access is not None and access.grant == grant:
            found = StoredToken("access_token", digest, access, clock=self.clock)
        elif refresh is not None and refresh.grant == grant:
            found = StoredToken("refresh_token", digest, refresh, clock=self.clock)
        else:
            return None
        found.revoked = revoked is not None
        return found

    def take_refresh(self, token: str, client) -> StoredToken | None:
        """A refresh token, once (rotation); a reused one revokes its whole grant."""
        if self._grant_in(token) is None:
            return None
        digest = self._hash(token)
        entry = TokenEntry.from_wire(self.state.take(REFRESH + digest))
        if entry is None:
            used = UsedRefresh.from_wire(self.state.get(REFRESH_USED + digest))
            if used is not None:
                log.warning("refresh token reused, its grant revoked", extra={"event": {"client": client.get_client_id()}})
                self.revoke_grant(used.grant, self.grant_lifetime(client))
            return None
        found = StoredToken("refresh_token", digest, entry, clock=self.clock)
        self.state.put(REFRESH_USED + digest, UsedRefresh(found.grant).to_wire(),
                       max(1, int(entry.expires_at - self.clock.wall())))
        if not found.check_client(client):
            self.revoke_grant(found.grant, self.grant_lifetime(client))
            return None
        if self.state.get(REVOKED + found.grant) is not None:
            return None
        return found

    def revoke(self, token: StoredToken, client) -> None:
        """RFC 7009: an access token alone; a refresh token with every token of its grant."""
        if token.kind == "access_token":
            self.state.delete(ACCESS + token.digest)
        else:
            self.state.delete(REFRESH + token.digest)
            self.revoke_grant(token.grant, self.grant_lifetime(client))

    def revoke_grant(self, grant: str, ttl: int) -> None:
        if grant:
            self.state.put(REVOKED + grant, {"at": int(self.clock.wall())}, max(1, ttl))

    # -- client assertions ---------------------------------------------------------------
    def first_use_of_jti(self, client_id: str, jti: str, ttl: int) -> bool:
        """True the first time a client assertion's ``jti`` is seen (private_key_jwt replay)."""
        return self.state.add(JTI + self._hash(f"{client_id}\x1f{jti}"), {}, max(1, ttl))


def put_many(state, items: list[tuple[str, dict[str, Any], int]]) -> None:
    """Several writes, in one round trip when the store can pipeline them."""
    batch = getattr(state, "put_many", None)
    if batch is not None:
        batch(items)
        return
    for key, value, ttl in items:
        state.put(key, value, ttl)
