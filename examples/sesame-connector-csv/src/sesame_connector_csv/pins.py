"""PIN hashing for the patron file: PBKDF2-SHA256, ``pbkdf2_sha256$iterations$salt$hash`` (hex)."""

from __future__ import annotations

import hashlib
import hmac
import os
import sys

DEFAULT_ITERATIONS = 600_000


def hash_pin(pin: str, *, iterations: int = DEFAULT_ITERATIONS, salt: bytes | None = None) -> str:
    """The stored form of a PIN."""
    salt = salt if salt is not None else os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode("utf-8"), salt, iterations)
    return f"pbkdf2_sha256${iterations}${salt.hex()}${digest.hex()}"


def verify_pin(pin: str, stored: str) -> bool:
    """True when ``pin`` matches the stored hash; False for a wrong PIN or a malformed hash."""
    try:
        scheme, iterations, salt, digest = stored.split("$")
        if scheme != "pbkdf2_sha256":
            return False
        computed = hashlib.pbkdf2_hmac("sha256", pin.encode("utf-8"), bytes.fromhex(salt), int(iterations))
    except (ValueError, UnicodeEncodeError):
        return False
    return hmac.compare_digest(computed.hex(), digest)


if __name__ == "__main__":
    # python -m sesame_connector_csv.pins 1234 -> the value for the file's pin column
    for value in sys.argv[1:]:
        print(hash_pin(value))
