"""Signing and encryption keys shared by every node, with a two-step rollover.

Keys live in the ``crypto_keys`` table, private parts encrypted with the
instance key. A key goes ``next`` (published, not used) → ``current`` (signs)
→ ``previous`` (still published, so that what it signed stays verifiable) →
``retired``. A rollover takes two ``rotate`` calls with time in between: the
first publishes a new ``next`` key (suppliers refresh their copy of the
metadata or JWKS), the second switches to it.

A fresh instance creates the first key of each purpose on first use; a lock
in the state store makes the nodes agree on one key. Parsed keys are cached
per process; a version token in the state store, read at most once a second,
says when another node or the CLI changed the set of keys.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from .clock import SYSTEM, Clock, utcnow
from .db.models import CryptoKey
from .errors import (
    Conflict,
    InvalidInput,
    NotFound,
    OperationFailed,
    ServiceUnavailable,
)
from .stamped_cache import StampedCache
from .state import StateStore, StateUnavailable

if TYPE_CHECKING:
    from .config import Settings
    from .crypto import InstanceKeys
    from .db import Database


@dataclass(frozen=True, slots=True)
class Purpose:
    """What a kind of key is for and how it is made."""

    name: str
    kind: str  # "rsa" or "ec"
    size: int  # RSA modulus bits (ignored for EC P-256)
    algorithm: str  # JOSE name, also stored in crypto_keys.algorithm
    use: str  # JWK "use": sig or enc
    certificate: bool  # SAML publishes keys as X.509 certificates


PURPOSES: dict[str, Purpose] = {
    p.name: p
    for p in (
        Purpose("saml-signing", "rsa", 2048, "RS256", "sig", True),
        Purpose("saml-encryption", "rsa", 3072, "RSA-OAEP", "enc", True),
        Purpose("oidc-rs256", "rsa", 2048, "RS256", "sig", False),
        Purpose("oidc-es256", "ec", 256, "ES256", "sig", False),
    )
}

STATUSES = ("next", "current", "previous", "retired")
PUBLISHED = ("next", "current", "previous")
CERTIFICATE_YEARS = 10
_VERSION_KEY = "keys:version"
_VERSION_TTL = 30 * 86400
_LOCK_TTL = 60
_CREATE_WAIT = 30.0


@dataclass(frozen=True)
class KeyMaterial:
    """One key pair ready to use: the parsed private key and what is published of it."""

    kid: str
    purpose: str
    algorithm: str
    status: str
    private_key: Any = field(repr=False, compare=False)
    private_pem: str = field(repr=False, compare=False)
    certificate_pem: str = ""
    public_jwk: dict[str, Any] = field(default_factory=dict, compare=False)
    created_at: datetime | None = None

    @property
    def public_key(self) -> Any:
        return self.private_key.public_key()

    @property
    def certificate_b64(self) -> str:
        """The certificate's DER in base64, as ``<ds:X509Certificate>`` wants it."""
        if not self.certificate_pem:
            return ""
        cert = x509.load_pem_x509_certificate(self.certificate_pem.encode())
        return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


def fingerprint(certificate_pem: str, jwk: dict[str, Any] | None) -> str:
    """What a supplier compares: the certificate's SHA-256 (AA:BB:…) or the JWK's RFC 7638 thumbprint."""
    if certificate_pem:
        cert = x509.load_pem_x509_certificate(certificate_pem.encode())
        return "SHA-256 " + ":".join(f"{b:02X}" for b in cert.fingerprint(hashes.SHA256()))
    members = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n")}.get((jwk or {}).get("kty", ""))
    if not members or not all(m in jwk for m in members):
        return ""
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return "JWK " + _b64u(hashlib.sha256(canonical.encode()).digest())


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _int_b64u(value: int) -> str:
    return _b64u(value.to_bytes((value.bit_length() + 7) // 8 or 1, "big"))


def public_jwk(public_key: Any, *, alg: str, use: str) -> dict[str, Any]:
    """The RFC 7517 JWK of a public key, its ``kid`` being the RFC 7638 thumbprint."""
    if isinstance(public_key, rsa.RSAPublicKey):
        numbers = public_key.public_numbers()
        core = {"e": _int_b64u(numbers.e), "kty": "RSA", "n": _int_b64u(numbers.n)}
    elif isinstance(public_key, ec.EllipticCurvePublicKey):
        point = public_key.public_numbers()
        core = {"crv": "P-256", "kty": "EC", "x": _b64u(point.x.to_bytes(32, "big")),
                "y": _b64u(point.y.to_bytes(32, "big"))}
    else:  # pragma: no cover - only our own purposes reach here
        raise InvalidInput(f"unsupported public key type {type(public_key).__name__}")
    thumbprint = _b64u(hashlib.sha256(json.dumps(core, separators=(",", ":"), sort_keys=True).encode()).digest())
    return {**core, "kid": thumbprint, "use": use, "alg": alg}


def _self_signed(private_key: Any, common_name: str, now: datetime | None = None) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64])])
    now = now or utcnow()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=365 * CERTIFICATE_YEARS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(private_key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def generate(purpose: str, common_name: str = "Sésame", now: datetime | None = None) -> tuple[Any, str, str, dict[str, Any]]:
    """A new key of ``purpose``: (private key, private PEM, certificate PEM or "", public JWK)."""
    spec = PURPOSES[purpose]
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    if spec.kind == "rsa":
        key = rsa.generate_private_key(public_exponent=65537, key_size=spec.size)
    else:
        key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    cert = _self_signed(key, f"{common_name} {purpose}", now) if spec.certificate else ""
    return key, pem, cert, public_jwk(key.public_key(), alg=spec.algorithm, use=spec.use)


def _check_purpose(purpose: str) -> Purpose:
    try:
        return PURPOSES[purpose]
    except KeyError:
        raise InvalidInput(f"unknown key purpose {purpose!r}; expected one of {', '.join(PURPOSES)}") from None


#: the keys not retired, by purpose
KeySet = dict[str, list[KeyMaterial]]


class KeyStore:
    """The instance's keys, parsed once per process: one per runtime (``runtime.key_store``).

    :param check_interval: seconds between two looks at the state store's
        version token; a key change made elsewhere is seen within that delay.
    """

    def __init__(self, db: Database, state: StateStore, instance_keys: InstanceKeys, settings: Settings, *,
                 check_interval: float = 1.0, clock: Clock | None = None) -> None:
        self.db = db
        #: the runtime's clock: key dates and the cache's age
        self.clock: Clock = clock or SYSTEM
        self.state = state
        self.instance_keys = instance_keys
        self.settings = settings
        #: the parsed keys, reloaded when the state store's version token changes
        self.cache: StampedCache[str, KeySet] = StampedCache(
            self._version, self._load, interval=check_interval, clock=self.clock.monotonic,
            keep_on=(StateUnavailable,))  # the store down: keep signing with the keys we have
        self._parsed: dict[str, tuple[Any, str]] = {}  # kid → (private key, PEM): parsing RSA keys is not free
        self._configured_key: KeyMaterial | None = None  # the signing key from files, when set

    @property
    def check_interval(self) -> float:
        return self.cache.interval

    @check_interval.setter
    def check_interval(self, seconds: float) -> None:
        self.cache.interval = seconds

    # -- reading ---------------------------------------------------------------------
    def current(self, purpose: str) -> KeyMaterial:
        """The key that signs (or receives) now; created on first use, once for all nodes."""
        _check_purpose(purpose)
        configured = self._configured(purpose)
        if configured is not None:
            return configured
        for km in self._keys(purpose):
            if km.status == "current":
                return km
        self._create_first(purpose)
        self.invalidate()
        for km in self._keys(purpose):
            if km.status == "current":
                return km
        raise ServiceUnavailable(f"no current {purpose} key could be created")  # pragma: no cover

    def published(self, purpose: str) -> list[KeyMaterial]:
        """Every key to publish (next, current, previous), the current one first."""
        current = self.current(purpose)
        if self._configured(purpose) is not None:
            return [current]
        order = {"current": 0, "next": 1, "previous": 2}
        keys = [k for k in self._keys(purpose) if k.status in PUBLISHED]
        return sorted(keys, key=lambda k: (order[k.status], -(k.created_at or self.clock.utcnow()).timestamp()))

    def invalidate(self) -> None:
        """Forget the parsed key set in this process (the next read reloads it)."""
        self.cache.invalidate()

    # -- changing ----------------------------------------------------------------------
    def rotate(self, purpose: str | None = None) -> list[KeyMaterial]:
        """One rollover step per purpose: create a ``next`` key, or switch to the waiting one.

        ``purpose=None`` steps every purpose that has keys. Returns the keys that
        changed status or were created.
        """
        purposes = [purpose] if purpose else self._purposes_in_use()
        changed: list[KeyMaterial] = []
        for name in purposes:
            _check_purpose(name)
            if self._configured(name) is not None:
                raise OperationFailed(f"the {name} key comes from keys_signing_key_file: replace that file instead")
            with self._locked(name):
                changed += self._rotate_locked(name)
        self._bump()
        return changed

    def retire(self, kid_or_purpose: str) -> list[str]:
        """Stop publishing a key (by kid), or every ``previous`` key of a purpose. Returns the kids."""
        with self.db.session() as s:
            if kid_or_purpose in PURPOSES:
                rows = list(s.scalars(select(CryptoKey).where(CryptoKey.purpose == kid_or_purpose,
                                                              CryptoKey.status == "previous")))
            else:
                row = s.scalar(select(CryptoKey).where(CryptoKey.kid == kid_or_purpose))
                if row is None:
                    raise NotFound(f"no key with kid or purpose {kid_or_purpose!r}")
                if row.status == "current":
                    raise Conflict(f"key {row.kid} is the current {row.purpose} key: rotate twice first")
                if row.status == "retired":
                    raise Conflict(f"key {row.kid} is already retired")
                rows = [row]
            for row in rows:
                row.status = "retired"
                row.retired_at = self.clock.utcnow()
            kids = [r.kid for r in rows]
        self._bump()
        return kids

    def describe(self) -> list[dict[str, Any]]:
        """Every key of the instance, retired ones too, for ``broker keys list``."""
        with self.db.session() as s:
            rows = list(s.scalars(select(CryptoKey).order_by(CryptoKey.purpose, CryptoKey.created_at)))
            out = []
            for r in rows:
                not_after = ""
                if r.certificate:
                    cert = x509.load_pem_x509_certificate(r.certificate.encode())
                    not_after = cert.not_valid_after_utc.date().isoformat()
                out.append({"kid": r.kid, "purpose": r.purpose, "algorithm": r.algorithm, "status": r.status,
                            "fingerprint": fingerprint(r.certificate, r.public_jwk),
                            "created_at": r.created_at.isoformat(timespec="seconds") if r.created_at else "",
                            "retired_at": r.retired_at.isoformat(timespec="seconds") if r.retired_at else "",
                            "certificate_until": not_after})
        for purpose in PURPOSES:
            configured = self._configured(purpose)
            if configured is not None:
                out.insert(0, {"kid": configured.kid, "purpose": purpose, "algorithm": configured.algorithm,
                               "status": "current (file)",
                               "fingerprint": fingerprint(configured.certificate_pem, configured.public_jwk), "created_at": "", "retired_at": "",
                               "certificate_until": ""})
        return out

    # -- internals ---------------------------------------------------------------------
    def _keys(self, purpose: str) -> list[KeyMaterial]:
        return self.cache.get().get(purpose, [])

    def _version(self) -> str:
        state = self.state
        value = state.get(_VERSION_KEY)
        if value is None:  # first start, or the store was emptied: everyone reloads
            state.add(_VERSION_KEY, {"v": secrets.token_hex(8)}, _VERSION_TTL)
            value = state.get(_VERSION_KEY) or {"v": ""}
        else:
            checked = self.cache.checked_at
            if checked is not None and self.cache.clock() - checked > 3600:
                state.touch(_VERSION_KEY, _VERSION_TTL)
        return value["v"]

    def _bump(self) -> None:
        self.state.put(_VERSION_KEY, {"v": secrets.token_hex(8)}, _VERSION_TTL)
        self.invalidate()

    def _load(self, _token: str) -> KeySet:
        with self.db.session() as s:
            rows = list(s.scalars(select(CryptoKey).where(CryptoKey.status != "retired")
                                  .order_by(CryptoKey.created_at, CryptoKey.id)))
            by_purpose: KeySet = {}
            parsed = dict(self._parsed)
            for r in rows:
                if r.kid not in parsed:
                    pem = self.instance_keys.decrypt(r.private_encrypted)
                    parsed[r.kid] = (serialization.load_pem_private_key(
                        pem, password=None, unsafe_skip_rsa_key_validation=True), pem.decode())
                key, pem_text = parsed[r.kid]
                by_purpose.setdefault(r.purpose, []).append(KeyMaterial(
                    kid=r.kid, purpose=r.purpose, algorithm=r.algorithm, status=r.status, private_key=key,
                    private_pem=pem_text, certificate_pem=r.certificate or "", public_jwk=dict(r.public_jwk or {}),
                    created_at=r.created_at))
        live = {km.kid for keys in by_purpose.values() for km in keys}
        self._parsed = {k: v for k, v in parsed.items() if k in live}
        return by_purpose

    def _purposes_in_use(self) -> list[str]:
        with self.db.session() as s:
            used = set(s.scalars(select(CryptoKey.purpose).where(CryptoKey.status != "retired")))
        return [p for p in PURPOSES if p in used]

    def _insert(self, purpose: str, status: str) -> KeyMaterial:
        spec = PURPOSES[purpose]
        key, pem, cert, jwk = generate(purpose, self._common_name(), self.clock.utcnow())
        with self.db.session() as s:
            row = CryptoKey(kid=jwk["kid"], purpose=purpose, algorithm=spec.algorithm, status=status,
                            private_encrypted=self.instance_keys.encrypt(pem.encode()), certificate=cert,
                            public_jwk=jwk)
            s.add(row)
            s.flush()
            created = row.created_at
        return KeyMaterial(jwk["kid"], purpose, spec.algorithm, status, key, pem, cert, jwk, created)

    def _create_first(self, purpose: str) -> None:
        with self._locked(purpose):
            with self.db.session() as s:
                exists = s.scalar(select(CryptoKey.id).where(CryptoKey.purpose == purpose,
                                                             CryptoKey.status == "current"))
            if exists is None:
                self._insert(purpose, "current")
                self._bump()

    def _rotate_locked(self, purpose: str) -> list[KeyMaterial]:
        with self.db.session() as s:
            rows = list(s.scalars(select(CryptoKey).where(CryptoKey.purpose == purpose,
                                                          CryptoKey.status.in_(("next", "current")))))
            waiting = [r for r in rows if r.status == "next"]
            if waiting:
                for r in rows:
                    if r.status == "current":
                        r.status = "previous"
                newest = max(waiting, key=lambda r: r.id)
                newest.status = "current"
                return [self._stub(newest)]
        if not rows:  # nothing to roll over yet: the first key is simply current
            return [self._insert(purpose, "current")]
        return [self._insert(purpose, "next")]

    @staticmethod
    def _stub(row: CryptoKey) -> KeyMaterial:
        return KeyMaterial(row.kid, row.purpose, row.algorithm, row.status, None, "", row.certificate or "",
                           dict(row.public_jwk or {}), row.created_at)

    def _locked(self, purpose: str) -> _StateLock:
        return _StateLock(self.state, f"keys:lock:{purpose}")

    def _common_name(self) -> str:
        from urllib.parse import urlsplit

        host = urlsplit(self.settings.base_url).hostname or "localhost"
        return f"Sésame {host}"

    def _configured(self, purpose: str) -> KeyMaterial | None:
        """The SAML signing key from files (keys_signing_key_file), when the operator set one."""
        if purpose != "saml-signing" or not self.settings.keys_signing_key_file:
            return None
        if self._configured_key is None:
            self._configured_key = _load_configured(self.settings)
        return self._configured_key


def _load_configured(settings: Any) -> KeyMaterial:
    from .errors import ConfigError

    try:
        with open(settings.keys_signing_key_file, "rb") as fh:
            pem = fh.read()
        key = serialization.load_pem_private_key(pem, password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError("keys_signing_key_file", f"cannot read an unencrypted PEM private key: {exc}") from exc
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < 2048:
        raise ConfigError("keys_signing_key_file", "expected an RSA key of at least 2048 bits")
    if not settings.keys_signing_cert_file:
        raise ConfigError("keys_signing_cert_file", "required with keys_signing_key_file")
    try:
        with open(settings.keys_signing_cert_file, "rb") as fh:
            cert = x509.load_pem_x509_certificate(fh.read())
    except (OSError, ValueError) as exc:
        raise ConfigError("keys_signing_cert_file", f"cannot read a PEM certificate: {exc}") from exc
    if cert.public_key().public_numbers() != key.public_key().public_numbers():
        raise ConfigError("keys_signing_cert_file", "the certificate does not match keys_signing_key_file")
    spec = PURPOSES["saml-signing"]
    jwk = public_jwk(key.public_key(), alg=spec.algorithm, use=spec.use)
    return KeyMaterial(jwk["kid"], "saml-signing", spec.algorithm, "current", key, pem.decode(),
                       cert.public_bytes(serialization.Encoding.PEM).decode(), jwk, None)


class _StateLock:
    """A lock shared by every node (state store ``add``), waiting while another holds it."""

    def __init__(self, state: Any, key: str) -> None:
        self.state = state
        self.key = key
        self.token = secrets.token_hex(8)

    def __enter__(self) -> _StateLock:
        deadline = time.monotonic() + _CREATE_WAIT
        while not self.state.add(self.key, {"holder": self.token}, _LOCK_TTL):
            if time.monotonic() > deadline:
                raise ServiceUnavailable("another node holds the key lock for too long; try again")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: Any) -> None:
        held = self.state.get(self.key)
        if held and held.get("holder") == self.token:
            self.state.delete(self.key)
