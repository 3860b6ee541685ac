"""Keys derived from the instance secrets, and encryption of secrets at rest."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .errors import BrokerError


class DecryptionError(BrokerError):
    """A secret stored at rest cannot be decrypted with this instance's secret key."""


def _derive(secret: str, label: str, length: int = 32) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=b"sesame-broker", info=label.encode()).derive(
        secret.encode()
    )


#: derived values that must never change, because they are kept or shown to suppliers: pairwise
#: identifiers, card digests, the patrons' keys on usage events and the lookup hashes of tokens. Each
#: instance stores them once (``instance_secrets``, see :mod:`broker.instance_secrets`), encrypted under
#: the current secret, so that rotating the secret changes none of them.
STABLE = ("pairwise-identifiers", "card-digests", "statistics", "token-hashes")


def derive_stable(secret: str) -> dict[str, bytes]:
    """The stable values as every instance derived them from its secret before they were stored."""
    return {label: _derive(secret, label) for label in STABLE}


class InstanceKeys:
    """Keys of one instance: stable values (stored once) and keys that follow the secret's rotation.

    ``secret_keys`` lists the instance secrets newest first: the first encrypts and signs, every one
    decrypts and verifies. ``stable`` returns the stable values (the database's copy); without it they
    are derived from the oldest key, as an instance did before it stored them.
    """

    def __init__(self, secret_keys: str | Sequence[str],
                 stable: Callable[[InstanceKeys], Mapping[str, bytes]] | None = None) -> None:
        self.secret_keys: tuple[str, ...] = (secret_keys,) if isinstance(secret_keys, str) else tuple(secret_keys)
        if not self.secret_keys:
            raise ValueError("at least one secret key is needed")
        self._load_stable = stable
        self._stable: dict[str, bytes] | None = None
        self._lock = threading.Lock()
        self._macs: dict[str, tuple[bytes, ...]] = {}

    # -- values that never change ----------------------------------------------------------
    def _value(self, label: str) -> bytes:
        values = self._stable
        if values is None:
            with self._lock:
                if self._stable is None:
                    loaded = self._load_stable(self) if self._load_stable else derive_stable(self.secret_keys[-1])
                    self._stable = {label: loaded[label] for label in STABLE}
                values = self._stable
        return values[label]

    def use_stable(self, values: Mapping[str, bytes]) -> None:
        """Use these stable values from now on (read from the database at start)."""
        with self._lock:
            self._stable = {label: values[label] for label in STABLE}

    @property
    def pairwise(self) -> bytes:
        return self._value("pairwise-identifiers")

    @property
    def cards(self) -> bytes:
        return self._value("card-digests")

    @property
    def statistics(self) -> bytes:
        return self._value("statistics")

    @property
    def tokens(self) -> bytes:
        return self._value("token-hashes")

    def token_hash(self, token: str) -> str:
        """Fast keyed hash for high-entropy secrets (API tokens, client secrets): a stable lookup key."""
        return hmac.new(self.tokens, token.encode(), hashlib.sha256).hexdigest()

    # -- keys that follow the secret ----------------------------------------------------------
    def mac_keys(self, purpose: str) -> tuple[bytes, ...]:
        """Keys for short-lived MACs of ``purpose``, newest first: sign with the first, accept any."""
        keys = self._macs.get(purpose)
        if keys is None:
            prefix = purpose.encode() + b"\x1f"
            keys = tuple(hashlib.sha256(prefix + _derive(secret, "token-hashes")).digest()
                         for secret in self.secret_keys)
            self._macs[purpose] = keys
        return keys

    @cached_property
    def _fernet(self) -> MultiFernet:
        return MultiFernet([Fernet(base64.urlsafe_b64encode(_derive(secret, "encryption-at-rest")))
                            for secret in self.secret_keys])

    def encrypt(self, data: bytes) -> bytes:
        return self._fernet.encrypt(data)

    def decrypt(self, token: bytes) -> bytes:
        try:
            return self._fernet.decrypt(token)
        except InvalidToken as exc:
            raise DecryptionError(_UNREADABLE) from exc

    def reencrypt(self, token: bytes) -> bytes:
        """``token`` encrypted again under the newest key (raises DecryptionError if no key opens it)."""
        try:
            return self._fernet.rotate(token)
        except InvalidToken as exc:
            raise DecryptionError(_UNREADABLE) from exc

    def encrypt_json(self, data: dict[str, Any]) -> bytes:
        return self.encrypt(json.dumps(data, separators=(",", ":")).encode())

    def decrypt_json(self, token: bytes | None) -> dict[str, Any]:
        return json.loads(self.decrypt(token)) if token else {}


_UNREADABLE = ("a stored secret cannot be decrypted with any key of secret_keys: "
               "was a key removed before `broker secrets rotate` had run?")
