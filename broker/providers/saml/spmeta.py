"""A supplier's SAML metadata: read once, validated, cached per process.

The SSO path never parses metadata: :func:`sp_metadata` keeps the parsed
form per (supplier id, updated_at), so a refreshed or edited supplier is
re-read once and every other request costs a dictionary lookup.
"""

from __future__ import annotations

import base64
import binascii
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from lxml import etree

from ...clock import utcnow
from .names import BINDING_POST, BINDING_REDIRECT, DS, MD, MDATTR, SAML, SAMLP
from .xmlsafe import MAX_METADATA, SamlInputError, parse, text_of

_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
SUBJECT_ID_REQ = "urn:oasis:names:tc:SAML:profiles:subject-id:req"


@dataclass(frozen=True, slots=True)
class Endpoint:
    binding: str
    location: str
    index: int | None = None
    is_default: bool = False
    response_location: str = ""


@dataclass(frozen=True, slots=True)
class SpMetadata:
    """What Sésame uses of a service provider's metadata."""

    entity_id: str
    acs: tuple[Endpoint, ...]
    slo: tuple[Endpoint, ...]
    signing_certs: tuple[str, ...]
    encryption_certs: tuple[str, ...]
    authn_requests_signed: bool
    want_assertions_signed: bool
    nameid_formats: tuple[str, ...]
    valid_until: datetime | None = None
    cache_duration: int | None = None
    #: what the SP asks of the SAML subject-id profile: pairwise-id, subject-id, any, none or None
    subject_id_req: str | None = None
    #: the md:EncryptionMethod algorithms of its encryption keys, in document order
    encryption_methods: tuple[str, ...] = ()

    def default_acs(self) -> Endpoint:
        """The ACS to use when the request names none: isDefault, else the lowest index, else the first."""
        post = [e for e in self.acs if e.binding == BINDING_POST]
        for e in post:
            if e.is_default:
                return e
        indexed = [e for e in post if e.index is not None]
        return min(indexed, key=lambda e: e.index) if indexed else post[0]

    def acs_by_url(self, url: str) -> Endpoint | None:
        return next((e for e in self.acs if e.location == url and e.binding == BINDING_POST), None)

    def acs_by_index(self, index: int) -> Endpoint | None:
        return next((e for e in self.acs if e.index == index), None)

    def slo_endpoint(self) -> Endpoint | None:
        """Where to send logout messages: the Redirect binding when offered, else POST."""
        by_binding = {e.binding: e for e in reversed(self.slo)}
        return by_binding.get(BINDING_REDIRECT) or by_binding.get(BINDING_POST)


def _check_url(url: str, what: str) -> str:
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname in _LOCAL_HOSTS:
        return url
    raise SamlInputError(f"{what}: {url!r} is not an https URL")


def _bool(value: str | None) -> bool:
    return (value or "").strip().lower() in {"true", "1"}


def _duration_seconds(value: str | None) -> int | None:
    """xs:duration limited to what metadata uses: PnDTnHnMnS."""
    import re

    if not value:
        return None
    m = re.fullmatch(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?", value.strip())
    if not m or not any(m.groups()):
        return None
    d, h, mi, s = (float(g) if g else 0.0 for g in m.groups())
    return int(d * 86400 + h * 3600 + mi * 60 + s)


def _datetime(value: str | None, what: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise SamlInputError(f"{what}: not a date-time ({value!r})") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def certificate_pem(b64: str, what: str) -> str:
    """A ``<ds:X509Certificate>`` value as PEM, refused when it is not a certificate."""
    try:
        der = base64.b64decode("".join(b64.split()), validate=True)
        cert = x509.load_der_x509_certificate(der)
    except (binascii.Error, ValueError):
        raise SamlInputError(f"{what}: not a valid X.509 certificate") from None
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def entity_element(root: etree._Element, entity_id: str | None = None) -> etree._Element:
    """The EntityDescriptor to read: the root, or the one named ``entity_id`` in an aggregate."""
    if root.tag == f"{{{MD}}}EntityDescriptor":
        if entity_id and root.get("entityID") != entity_id:
            raise SamlInputError(f"metadata: describes {root.get('entityID')!r}, not {entity_id!r}")
        return root
    if root.tag != f"{{{MD}}}EntitiesDescriptor":
        raise SamlInputError("metadata: the root element must be md:EntityDescriptor or md:EntitiesDescriptor")
    entities = root.findall(f".//{{{MD}}}EntityDescriptor")
    if entity_id is None:
        if len(entities) != 1:
            raise SamlInputError(f"metadata: an aggregate of {len(entities)} entities; name the one to use (--entity-id)")
        return entities[0]
    for e in entities:
        if e.get("entityID") == entity_id:
            return e
    raise SamlInputError(f"metadata: no entity {entity_id!r} in the aggregate")


def read(data: bytes, entity_id: str | None = None, *, now: datetime | None = None) -> SpMetadata:
    """Parse and validate SP metadata (still valid at ``now``); SamlInputError names the first problem."""
    root = parse(data, limit=MAX_METADATA, what="metadata")
    return from_element(entity_element(root, entity_id), root, now=now)


def from_element(entity: etree._Element, root: etree._Element | None = None, *,
                 now: datetime | None = None) -> SpMetadata:
    entity_id = (entity.get("entityID") or "").strip()
    if not entity_id or len(entity_id) > 500:
        raise SamlInputError("metadata: missing or overlong entityID")
    now = now or utcnow()
    valid_until = None
    for holder in (entity, root):
        if holder is None:
            continue
        until = _datetime(holder.get("validUntil"), "metadata validUntil")
        if until is not None:
            if until <= now:
                raise SamlInputError(f"metadata: expired (validUntil {until.isoformat()})")
            valid_until = min(valid_until, until) if valid_until else until
    sp = entity.find(f"{{{MD}}}SPSSODescriptor")
    if sp is None:
        raise SamlInputError(f"metadata of {entity_id}: no SPSSODescriptor (not a service provider)")
    if SAMLP not in (sp.get("protocolSupportEnumeration") or "").split():
        raise SamlInputError(f"metadata of {entity_id}: the SP does not declare SAML 2.0 support")

    acs = []
    for el in sp.findall(f"{{{MD}}}AssertionConsumerService"):
        binding, location = el.get("Binding", ""), (el.get("Location") or "").strip()
        index = el.get("index")
        try:
            idx = int(index) if index is not None else None
        except ValueError:
            raise SamlInputError(f"metadata of {entity_id}: ACS index {index!r} is not a number") from None
        if binding == BINDING_POST:
            _check_url(location, f"metadata of {entity_id}: AssertionConsumerService")
        acs.append(Endpoint(binding, location, idx, _bool(el.get("isDefault"))))
    if not any(e.binding == BINDING_POST for e in acs):
        raise SamlInputError(f"metadata of {entity_id}: no AssertionConsumerService with the HTTP-POST binding")

    slo = []
    for el in sp.findall(f"{{{MD}}}SingleLogoutService"):
        binding = el.get("Binding", "")
        if binding not in (BINDING_REDIRECT, BINDING_POST):
            continue
        location = _check_url((el.get("Location") or "").strip(), f"metadata of {entity_id}: SingleLogoutService")
        response = (el.get("ResponseLocation") or "").strip()
        if response:
            _check_url(response, f"metadata of {entity_id}: SingleLogoutService ResponseLocation")
        slo.append(Endpoint(binding, location, response_location=response))

    signing: list[str] = []
    encryption: list[str] = []
    methods: list[str] = []
    for kd in sp.findall(f"{{{MD}}}KeyDescriptor"):
        use = kd.get("use", "")
        if use in ("", "encryption"):
            methods.extend((m.get("Algorithm") or "").strip()[:200] for m in kd.findall(f"{{{MD}}}EncryptionMethod"))
        for cert_el in kd.iter(f"{{{DS}}}X509Certificate"):
            pem = certificate_pem(text_of(cert_el), f"metadata of {entity_id}: KeyDescriptor")
            if use in ("", "signing"):
                signing.append(pem)
            if use in ("", "encryption"):
                encryption.append(pem)
    formats = tuple(text_of(el) for el in sp.findall(f"{{{MD}}}NameIDFormat") if text_of(el))
    subject_req = None
    for attr in entity.iterfind(f"{{{MD}}}Extensions/{{{MDATTR}}}EntityAttributes/{{{SAML}}}Attribute"):
        if attr.get("Name") == SUBJECT_ID_REQ:
            subject_req = text_of(attr.find(f"{{{SAML}}}AttributeValue")) or None
    return SpMetadata(
        entity_id=entity_id,
        acs=tuple(acs),
        slo=tuple(slo),
        signing_certs=tuple(dict.fromkeys(signing)),
        encryption_certs=tuple(dict.fromkeys(encryption)),
        authn_requests_signed=_bool(sp.get("AuthnRequestsSigned")),
        want_assertions_signed=_bool(sp.get("WantAssertionsSigned")),
        nameid_formats=formats,
        valid_until=valid_until,
        subject_id_req=subject_req,
        encryption_methods=tuple(dict.fromkeys(m for m in methods if m)),
        cache_duration=_duration_seconds(entity.get("cacheDuration") or (root.get("cacheDuration") if root is not None else None)),
    )


_cache: dict[tuple[int, Any], SpMetadata] = {}
_cache_lock = threading.Lock()


def sp_metadata(supplier: Any, now: datetime) -> SpMetadata:
    """The parsed metadata of a SAML supplier (still valid at ``now``), parsed once per process and supplier version."""
    key = (supplier.id, supplier.updated_at)
    found = _cache.get(key)
    if found is None:
        config = supplier.config or {}
        found = read(config.get("metadata", "").encode(), supplier.saml_entity_id, now=now)
        with _cache_lock:
            for old in [k for k in _cache if k[0] == supplier.id]:
                del _cache[old]
            _cache[key] = found
    if found.valid_until is not None and found.valid_until <= now:
        raise SamlInputError(f"the metadata of {found.entity_id} has expired: refresh it (broker suppliers refresh-saml)")
    return found
