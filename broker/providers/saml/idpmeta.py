"""Sésame's own IdP metadata: entity ID, keys (current, next and previous), endpoints, scopes.

Built once per process and key set, rebuilt hourly so that ``validUntil``
keeps moving; signed with the current signing key when ``saml_sign_metadata``.
"""

from __future__ import annotations

import secrets
import threading
import time
from datetime import timedelta
from typing import Any

from lxml import etree
from sqlalchemy import select

from ...clock import utcnow
from ...db.models import Network
from ...keys import KeyStore
from .names import BINDING_POST, BINDING_REDIRECT, DS, MD, NAMEID_PERSISTENT, NAMEID_TRANSIENT, SAMLP
from .signing import sign

SHIBMD = "urn:mace:shibboleth:metadata:1.0"
CACHE_DURATION = "PT6H"
_REBUILD_AFTER = 3600
_lock = threading.Lock()


def entity_id(runtime: Any) -> str:
    return runtime.settings.effective_saml_entity_id


def endpoint(runtime: Any, path: str) -> str:
    return f"{runtime.settings.base_url.rstrip('/')}{path}"


def _key_descriptor(parent: etree._Element, use: str, certificate_b64: str, kid: str, encryption: bool) -> None:
    kd = etree.SubElement(parent, f"{{{MD}}}KeyDescriptor", use=use)
    info = etree.SubElement(kd, f"{{{DS}}}KeyInfo")
    etree.SubElement(info, f"{{{DS}}}KeyName").text = kid
    data = etree.SubElement(info, f"{{{DS}}}X509Data")
    etree.SubElement(data, f"{{{DS}}}X509Certificate").text = certificate_b64
    if encryption:
        etree.SubElement(kd, f"{{{MD}}}EncryptionMethod", Algorithm="http://www.w3.org/2009/xmlenc11#aes256-gcm")
        etree.SubElement(kd, f"{{{MD}}}EncryptionMethod", Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p")


def build(runtime: Any, scopes: list[str]) -> bytes:
    """The metadata document, signed when the settings say so."""
    keys = KeyStore(runtime)
    signing = keys.published("saml-signing")
    encryption = keys.published("saml-encryption")
    now = utcnow()
    valid_until = now + timedelta(days=runtime.settings.saml_metadata_valid_days)
    root = etree.Element(
        f"{{{MD}}}EntityDescriptor", nsmap={"md": MD, "ds": DS, "shibmd": SHIBMD},
        entityID=entity_id(runtime), ID=f"_{secrets.token_hex(16)}",
        validUntil=valid_until.strftime("%Y-%m-%dT%H:%M:%SZ"), cacheDuration=CACHE_DURATION,
    )
    idp = etree.SubElement(root, f"{{{MD}}}IDPSSODescriptor", protocolSupportEnumeration=SAMLP,
                           WantAuthnRequestsSigned="false")
    if scopes:
        ext = etree.SubElement(idp, f"{{{MD}}}Extensions")
        for scope in scopes:
            etree.SubElement(ext, f"{{{SHIBMD}}}Scope", regexp="false").text = scope
    for km in signing:
        _key_descriptor(idp, "signing", km.certificate_b64, km.kid, False)
    for km in encryption:
        _key_descriptor(idp, "encryption", km.certificate_b64, km.kid, True)
    slo = endpoint(runtime, "/saml/slo")
    sso = endpoint(runtime, "/saml/sso")
    for binding in (BINDING_REDIRECT, BINDING_POST):
        etree.SubElement(idp, f"{{{MD}}}SingleLogoutService", Binding=binding, Location=slo)
    for fmt in (NAMEID_PERSISTENT, NAMEID_TRANSIENT):
        etree.SubElement(idp, f"{{{MD}}}NameIDFormat").text = fmt
    for binding in (BINDING_REDIRECT, BINDING_POST):
        etree.SubElement(idp, f"{{{MD}}}SingleSignOnService", Binding=binding, Location=sso)
    if runtime.settings.saml_sign_metadata:
        sign(root, keys.current("saml-signing"))
    return etree.tostring(root, encoding="utf-8", xml_declaration=True)


def metadata(runtime: Any) -> bytes:
    """The published metadata, from the per-process cache when the key set did not change."""
    keys = KeyStore(runtime)
    kids = tuple(k.kid for purpose in ("saml-signing", "saml-encryption") for k in keys.published(purpose))
    cached = runtime.caches.get("saml_idp_metadata")
    if cached and cached[0] == kids and time.monotonic() - cached[1] < _REBUILD_AFTER:
        return cached[2]
    with runtime.db.session() as s:
        scopes = sorted({scope for scope in s.scalars(select(Network.scope)) if scope})
    document = build(runtime, scopes)
    with _lock:
        runtime.caches["saml_idp_metadata"] = (kids, time.monotonic(), document)
    return document
