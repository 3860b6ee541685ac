"""ID token signing and the published JWKS, from the instance's key store.

The key store parses each key once per process and notices rotations; this
module adds the JOSE form of each key, also once per key.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, RSAKey

if TYPE_CHECKING:
    from ...runtime import Runtime

PURPOSE_OF_ALG = {"RS256": "oidc-rs256", "ES256": "oidc-es256"}


class Signer:
    """Signs ID tokens with the current key of an algorithm; publishes every published key."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._jose: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _jose_key(self, km) -> Any:
        key = self._jose.get(km.kid)
        if key is None:
            cls = RSAKey if km.algorithm.startswith("RS") else ECKey
            key = cls.import_key(km.private_key)
            with self._lock:
                if len(self._jose) > 16:  # rotated-away keys: keep the cache small
                    self._jose.clear()
                self._jose[km.kid] = key
        return key

    def sign(self, claims: dict[str, Any], alg: str) -> str:
        km = self.runtime.key_store.current(PURPOSE_OF_ALG[alg])
        header = {"alg": alg, "kid": km.kid, "typ": "JWT"}
        return jwt.encode(header, claims, self._jose_key(km), algorithms=[alg])

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        """Every published key (next, current, previous) of both algorithms."""
        store = self.runtime.key_store
        keys = []
        for purpose in PURPOSE_OF_ALG.values():
            keys += [dict(km.public_jwk) for km in store.published(purpose)]
        return {"keys": keys}

    def public_keyset(self) -> KeySet:
        return KeySet.import_key_set(self.jwks())
