"""Sésame's own IdP metadata: entity ID, keys (current, next and previous), endpoints, scopes.

Also what a federation asks of an IdP: ``mdui:UIInfo`` (display name,
description, information and privacy URLs, logo, in French and English),
``md:Organization`` and the technical and support ``md:ContactPerson``.

Built once per process and key set, rebuilt hourly so that ``validUntil``
keeps moving; signed with the current signing key when ``saml_sign_metadata``.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from lxml import etree
from sqlalchemy import select

from ...db.models import Network
from ...stamped_cache import StampedCache
from .names import (
    BINDING_POST,
    BINDING_REDIRECT,
    DS,
    MD,
    NAMEID_PERSISTENT,
    NAMEID_TRANSIENT,
    SAMLP,
)
from .signing import sign

if TYPE_CHECKING:
    from ...runtime import Runtime

SHIBMD = "urn:mace:shibboleth:metadata:1.0"
MDUI = "urn:oasis:names:tc:SAML:metadata:ui"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
LANGUAGES = ("fr", "en")
CACHE_DURATION = "PT6H"
_REBUILD_AFTER = 3600


def entity_id(runtime: Runtime) -> str:
    return runtime.settings.effective_saml_entity_id


def endpoint(runtime: Runtime, path: str) -> str:
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


def _ui_info(parent: etree._Element, settings: Any) -> None:
    base = settings.base_url.rstrip("/")
    ui = etree.SubElement(parent, f"{{{MDUI}}}UIInfo")
    for tag, texts in (("DisplayName", (settings.saml_display_name_fr, settings.saml_display_name_en)),
                       ("Description", (settings.saml_description_fr, settings.saml_description_en))):
        for lang, text in zip(LANGUAGES, texts):
            if text:
                etree.SubElement(ui, f"{{{MDUI}}}{tag}", {XML_LANG: lang}).text = text
    logo = etree.SubElement(ui, f"{{{MDUI}}}Logo", height=str(settings.saml_logo_height),
                            width=str(settings.saml_logo_width))
    logo.text = settings.saml_logo_url or f"{base}/static/favicon.svg"
    for tag, url in (("InformationURL", settings.saml_information_url or f"{base}/"),
                     ("PrivacyStatementURL", settings.saml_privacy_url or f"{base}/privacy")):
        for lang in LANGUAGES:
            etree.SubElement(ui, f"{{{MDUI}}}{tag}", {XML_LANG: lang}).text = url


def _organization(root: etree._Element, settings: Any) -> None:
    name = settings.saml_organization_name or "Sésame"
    url = settings.saml_organization_url or f"{settings.base_url.rstrip('/')}/"
    org = etree.SubElement(root, f"{{{MD}}}Organization")
    for tag, value in (("OrganizationName", name), ("OrganizationDisplayName", name), ("OrganizationURL", url)):
        for lang in LANGUAGES:
            etree.SubElement(org, f"{{{MD}}}{tag}", {XML_LANG: lang}).text = value
    for kind, person, email in (
            ("technical", settings.saml_technical_contact_name, settings.saml_technical_contact_email),
            ("support", settings.saml_support_contact_name, settings.saml_support_contact_email)):
        if not email:
            continue
        contact = etree.SubElement(root, f"{{{MD}}}ContactPerson", contactType=kind)
        etree.SubElement(contact, f"{{{MD}}}GivenName").text = person or name
        etree.SubElement(contact, f"{{{MD}}}EmailAddress").text = (
            email if email.startswith("mailto:") else f"mailto:{email}")


def build(runtime: Runtime, scopes: list[str]) -> bytes:
    """The metadata document, signed when the settings say so."""
    keys = runtime.key_store
    signing = keys.published("saml-signing")
    encryption = keys.published("saml-encryption")
    now = runtime.clock.utcnow()
    valid_until = now + timedelta(days=runtime.settings.saml_metadata_valid_days)
    root = etree.Element(
        f"{{{MD}}}EntityDescriptor", nsmap={"md": MD, "ds": DS, "shibmd": SHIBMD, "mdui": MDUI},
        entityID=entity_id(runtime), ID=f"_{secrets.token_hex(16)}",
        validUntil=valid_until.strftime("%Y-%m-%dT%H:%M:%SZ"), cacheDuration=CACHE_DURATION,
    )
    idp = etree.SubElement(root, f"{{{MD}}}IDPSSODescriptor", protocolSupportEnumeration=SAMLP,
                           WantAuthnRequestsSigned="false")
    ext = etree.SubElement(idp, f"{{{MD}}}Extensions")
    for scope in scopes:
        etree.SubElement(ext, f"{{{SHIBMD}}}Scope", regexp="false").text = scope
    _ui_info(ext, runtime.settings)
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
    _organization(root, runtime.settings)
    if runtime.settings.saml_sign_metadata:
        sign(root, keys.current("saml-signing"))
    return etree.tostring(root, encoding="utf-8", xml_declaration=True)


class PublishedMetadata:
    """The metadata document of one runtime (``runtime.saml_metadata``), rebuilt when its key set changes
    and at least every ``_REBUILD_AFTER`` seconds (so that ``validUntil`` keeps moving)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.cache: StampedCache[tuple[str, ...], bytes] = StampedCache(
            self._published_kids, self._build, interval=0, max_age=_REBUILD_AFTER,
            clock=runtime.clock.monotonic)

    def document(self) -> bytes:
        return self.cache.get()

    def _published_kids(self) -> tuple[str, ...]:
        keys = self.runtime.key_store
        return tuple(k.kid for purpose in ("saml-signing", "saml-encryption") for k in keys.published(purpose))

    def _build(self, _kids: tuple[str, ...]) -> bytes:
        with self.runtime.db.session() as s:
            scopes = sorted({scope for scope in s.scalars(select(Network.scope)) if scope})
        return build(self.runtime, scopes)


def metadata(runtime: Runtime) -> bytes:
    """The published metadata, from the per-process cache when the key set did not change."""
    return runtime.saml_metadata.document()
