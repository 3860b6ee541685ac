"""The demo SAML service provider, built on OneLogin's python3-saml (Sésame's identity provider uses pysaml2's
toolkit and its own code, not this library).

It reads Sésame's IdP metadata over HTTP like any supplier, accepts both
IdP-initiated responses (``/go/demo-saml``) and answers to its own
AuthnRequests (HTTP-Redirect binding), and checks the signature, audience,
destination and validity window of each response with python3-saml.
"""

from __future__ import annotations

import threading
import time
from typing import Any
from urllib.parse import urlsplit

import requests
from lxml import etree
from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.constants import OneLogin_Saml2_Constants as C
from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser
from onelogin.saml2.settings import OneLogin_Saml2_Settings

from .kinds import SAML, SAML_ENTITY_ID, DemoSupplierError

#: the identity provider's metadata is read again after this many seconds
METADATA_TTL = 300
HTTP_TIMEOUT = 10
#: friendly names of the attributes Sésame sends, for the page (python3-saml gives the URIs)
LIBRARY_ATTRIBUTE = "urn:oid:1.3.6.1.4.1.25178.1.2.9"
NETWORK_ATTRIBUTE = "urn:sesame:attribute:network"

_idp_cache: dict[str, tuple[float, dict]] = {}
_lock = threading.Lock()


class SamlSpError(DemoSupplierError):
    """The response (or the IdP metadata) could not be used; ``reason`` says why, for the page."""


def _sp(base_url: str) -> dict[str, Any]:
    return {"entityId": SAML_ENTITY_ID,
            "assertionConsumerService": {"url": SAML.url(base_url, "acs"), "binding": C.BINDING_HTTP_POST},
            "NameIDFormat": C.NAMEID_PERSISTENT}


def _security() -> dict[str, Any]:
    # Sésame signs its responses: an unsigned one is refused
    return {"authnRequestsSigned": False, "wantMessagesSigned": True, "wantAssertionsSigned": False,
            "wantAssertionsEncrypted": False, "wantNameId": True, "requestedAuthnContext": False,
            "signatureAlgorithm": C.RSA_SHA256, "digestAlgorithm": C.SHA256, "allowSingleLabelDomains": True,
            "rejectDeprecatedAlgorithm": True}


def sp_metadata(base_url: str) -> bytes:
    """The SP's metadata, as ``broker demo`` registers it (no IdP needed to build it)."""
    settings = OneLogin_Saml2_Settings({"strict": True, "sp": _sp(base_url), "security": _security()},
                                       sp_validation_only=True)
    xml = settings.get_sp_metadata()
    errors = settings.validate_metadata(xml)
    if errors:  # pragma: no cover - python3-saml's own metadata
        raise SamlSpError(", ".join(errors))
    # python3-saml dates its metadata (valid two days): registered once by `broker demo`, it must not
    # expire, and the same address must give the same document
    root = etree.fromstring(xml if isinstance(xml, bytes) else xml.encode())
    for name in ("validUntil", "cacheDuration"):
        root.attrib.pop(name, None)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


def idp_settings(base_url: str) -> dict[str, Any]:
    """Sésame's IdP as read from its published metadata (cached for a few minutes)."""
    url = base_url.rstrip("/") + "/saml/metadata"
    with _lock:
        found = _idp_cache.get(url)
        if found and time.monotonic() - found[0] < METADATA_TTL:
            return found[1]
    try:
        response = requests.get(url, timeout=HTTP_TIMEOUT)
        response.raise_for_status()
        idp = OneLogin_Saml2_IdPMetadataParser.parse(response.text)["idp"]
    except (requests.RequestException, ValueError, KeyError) as exc:
        raise SamlSpError(f"the identity provider's metadata cannot be read at {url} ({type(exc).__name__})") \
            from None
    with _lock:
        _idp_cache[url] = (time.monotonic(), idp)
    return idp


def _auth(base_url: str, path: str, *, get: dict | None = None, post: dict | None = None) -> OneLogin_Saml2_Auth:
    parts = urlsplit(base_url)
    settings = {"strict": True, "debug": False, "sp": _sp(base_url), "idp": idp_settings(base_url),
                "security": _security()}
    request_data = {"https": "on" if parts.scheme == "https" else "off", "http_host": parts.netloc,
                    "script_name": path, "get_data": get or {}, "post_data": post or {}}
    return OneLogin_Saml2_Auth(request_data, settings)


def login_url(base_url: str, relay_state: str) -> tuple[str, str]:
    """(Sésame's SSO URL carrying an AuthnRequest, the request's ID)."""
    auth = _auth(base_url, SAML.path("login"))
    url = auth.login(return_to=relay_state)
    return url, auth.get_last_request_id()


def accept(base_url: str, form: dict[str, str], request_id: str | None) -> dict[str, Any]:
    """Check a posted SAMLResponse; what it carries (NameID, attributes) or SamlSpError."""
    if "SAMLResponse" not in form:
        raise SamlSpError("no SAMLResponse was posted")
    auth = _auth(base_url, SAML.path("acs"), post=form)
    try:
        auth.process_response(request_id=request_id)
    except Exception as exc:  # python3-saml raises on malformed input
        raise SamlSpError(f"the response cannot be read ({type(exc).__name__})") from None
    errors = auth.get_errors()
    if errors or not auth.is_authenticated():
        raise SamlSpError(auth.get_last_error_reason() or ", ".join(errors) or "not authenticated")
    attributes = auth.get_attributes()
    friendly = _friendly_names(auth)
    values = [(f"{friendly[name]} ({name})" if name in friendly else name, list(v))
              for name, v in attributes.items()]
    return {"nameid": auth.get_nameid(), "format": auth.get_nameid_format() or "", "values": values,
            "library": (attributes.get(LIBRARY_ATTRIBUTE) or [None])[0],
            "network": (attributes.get(NETWORK_ATTRIBUTE) or [None])[0]}


def _friendly_names(auth: OneLogin_Saml2_Auth) -> dict[str, str]:
    """Attribute name → FriendlyName, read from the checked assertion."""
    xml = auth.get_last_response_xml()
    if not xml:
        return {}
    try:
        root = etree.fromstring(xml.encode() if isinstance(xml, str) else xml,
                                parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return {}
    found = {}
    for attr in root.iter("{urn:oasis:names:tc:SAML:2.0:assertion}Attribute"):
        if attr.get("FriendlyName") and attr.get("Name"):
            found[attr.get("Name")] = attr.get("FriendlyName")
    return found
