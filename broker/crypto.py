"""Keys derived from the instance secret, and encryption of secrets at rest."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from functools import cached_property
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .errors import BrokerError


class DecryptionError(BrokerError):
    """A secret stored at rest cannot be decrypted with this instance's secret key."""


def _derive(secret: str, label: str, length: int = 32) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=b"sesame-broker", info=label.encode()).derive(
        secret.encode()
    )


class InstanceKeys:
    """Purpose-bound keys derived from ``secret_key`` (one secret, many unrelated keys)."""

    def __init__(self, secret_key: str) -> None:
        self._secret = secret_key

    @cached_property
    def pairwise(self) -> bytes:
        return _derive(self._secret, "pairwise-identifiers")

    @cached_property
    def cards(self) -> bytes:
        return _derive(self._secret, "card-digests")

    @cached_property
    def statistics(self) -> bytes:
        return _derive(self._secret, "statistics")

    @cached_property
    def tokens(self) -> bytes:
        return _derive(self._secret, "token-hashes")

    @cached_property
    def _fernet(self) -> Fernet:
        return Fernet(base64.urlsafe_b64encode(_derive(self._secret, "encryption-at-rest")))

    def encrypt(self, data: bytes) -> bytes:
        return self._fernet.encrypt(data)

    def decrypt(self, token: bytes) -> bytes:
        try:
            return self._fernet.decrypt(token)
        except InvalidToken as exc:
            raise DecryptionError("a stored secret cannot be decrypted: was secret_key changed?") from exc

    def encrypt_json(self, data: dict[str, Any]) -> bytes:
        return self.encrypt(json.dumps(data, separators=(",", ":")).encode())

    def decrypt_json(self, token: bytes | None) -> dict[str, Any]:
        return json.loads(self.decrypt(token)) if token else {}

    def token_hash(self, token: str) -> str:
        """Fast keyed hash for high-entropy secrets (API tokens, client secrets)."""
        return hmac.new(self.tokens, token.encode(), hashlib.sha256).hexdigest()


def random_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)
