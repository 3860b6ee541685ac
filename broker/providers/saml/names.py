"""SAML 2.0 names: namespaces, bindings, formats, status codes and the attributes Sésame releases."""

from __future__ import annotations

from dataclasses import dataclass

SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
MD = "urn:oasis:names:tc:SAML:2.0:metadata"
DS = "http://www.w3.org/2000/09/xmldsig#"
XENC = "http://www.w3.org/2001/04/xmlenc#"
MDATTR = "urn:oasis:names:tc:SAML:metadata:attribute"
NS = {"saml": SAML, "samlp": SAMLP, "md": MD, "ds": DS, "xenc": XENC}

BINDING_REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
BINDING_POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"

NAMEID_PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
NAMEID_TRANSIENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
NAMEID_UNSPECIFIED = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
NAMEID_ENTITY = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity"
NAMEID_FORMATS = {"persistent": NAMEID_PERSISTENT, "transient": NAMEID_TRANSIENT}

ATTRNAME_URI = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"
AC_PASSWORD_PROTECTED = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
CM_BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"

STATUS_SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
STATUS_REQUESTER = "urn:oasis:names:tc:SAML:2.0:status:Requester"
STATUS_RESPONDER = "urn:oasis:names:tc:SAML:2.0:status:Responder"
STATUS_NO_PASSIVE = "urn:oasis:names:tc:SAML:2.0:status:NoPassive"
STATUS_REQUEST_DENIED = "urn:oasis:names:tc:SAML:2.0:status:RequestDenied"
STATUS_INVALID_NAMEID_POLICY = "urn:oasis:names:tc:SAML:2.0:status:InvalidNameIDPolicy"
STATUS_PARTIAL_LOGOUT = "urn:oasis:names:tc:SAML:2.0:status:PartialLogout"

SIG_RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
SIG_RSA_SHA384 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384"
SIG_RSA_SHA512 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"
#: what Sésame accepts from suppliers; SHA-1 is refused, as Shibboleth's IdP does
SIGNATURE_ALGORITHMS = (SIG_RSA_SHA256, SIG_RSA_SHA384, SIG_RSA_SHA512)
DIGEST_ALGORITHMS = ("http://www.w3.org/2001/04/xmlenc#sha256", "http://www.w3.org/2001/04/xmldsig-more#sha384",
                     "http://www.w3.org/2001/04/xmlenc#sha512")
TRANSFORM_ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
TRANSFORM_EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"


@dataclass(frozen=True, slots=True)
class AttributeName:
    """How one released attribute is named on the wire."""

    friendly: str
    uri: str


#: friendly name (as services.release produces it) → SAML attribute name. The
#: first block is standard (eduPerson, inetOrgPerson, SAML subject-id); the
#: Sésame-specific ones live under the project's own URN.
ATTRIBUTES: dict[str, AttributeName] = {
    "pairwise-id": AttributeName("pairwise-id", "urn:oasis:names:tc:SAML:attribute:pairwise-id"),
    "subject-id": AttributeName("subject-id", "urn:oasis:names:tc:SAML:attribute:subject-id"),
    "eduPersonEntitlement": AttributeName("eduPersonEntitlement", "urn:oid:1.3.6.1.4.1.5923.1.1.1.7"),
    "eduPersonScopedAffiliation": AttributeName("eduPersonScopedAffiliation", "urn:oid:1.3.6.1.4.1.5923.1.1.1.9"),
    "displayName": AttributeName("displayName", "urn:oid:2.16.840.1.113730.3.1.241"),
    "mail": AttributeName("mail", "urn:oid:0.9.2342.19200300.100.1.3"),
    # schacHomeOrganization (SCHAC 1.3.6.1.4.1.25178.1.2.9): the library's code
    "library": AttributeName("schacHomeOrganization", "urn:oid:1.3.6.1.4.1.25178.1.2.9"),
    # schacYearOfBirth (SCHAC 1.3.6.1.4.1.25178.1.2.3)
    "birthYear": AttributeName("schacYearOfBirth", "urn:oid:1.3.6.1.4.1.25178.1.2.3"),
    "network": AttributeName("sesameNetwork", "urn:sesame:attribute:network"),
    "ageBracket": AttributeName("sesameAgeBracket", "urn:sesame:attribute:age-bracket"),
}


def attribute_name(friendly: str) -> AttributeName:
    """The wire name of a released attribute; one a plugin added is sent under Sésame's URN."""
    return ATTRIBUTES.get(friendly) or AttributeName(friendly, f"urn:sesame:attribute:{friendly}")
