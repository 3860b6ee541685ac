"""Outgoing SAML messages, signed (and encrypted) in-process.

Responses, on every sign-on, are built directly as lxml elements: the tree
python-xmlsec signs, with no serialise-and-parse round trip. The rarer logout
messages use pysaml2's protocol classes, parsed back with lxml (our own
output). Suppliers that ask get the assertion encrypted before the response
is signed.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from lxml import etree
from saml2 import saml, samlp

from ...keys import KeyMaterial
from .encryption import DEFAULT_ALGORITHM, encrypt_assertion
from .names import (
    AC_PASSWORD_PROTECTED,
    ATTRNAME_URI,
    CM_BEARER,
    NAMEID_ENTITY,
    NAMEID_PERSISTENT,
    SAML,
    SAMLP,
    STATUS_SUCCESS,
    attribute_name,
)
from .signing import sign

_NSPAIR = {"samlp": SAMLP, "saml": SAML}
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=False)
#: allowance for suppliers' clocks in NotBefore
CLOCK_SKEW = timedelta(seconds=60)


def new_id() -> str:
    """A message ID: starts with a letter-like ``_`` (xs:ID) and carries 160 random bits."""
    return f"_{secrets.token_hex(20)}"


def instant(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _issuer(idp_entity: str) -> saml.Issuer:
    return saml.Issuer(text=idp_entity, format=NAMEID_ENTITY)


def _status(code: str, sub_code: str | None = None, message: str | None = None) -> samlp.Status:
    inner = samlp.StatusCode(value=sub_code) if sub_code else None
    return samlp.Status(status_code=samlp.StatusCode(value=code, status_code=inner),
                        status_message=samlp.StatusMessage(text=message) if message else None)


def _to_lxml(obj) -> etree._Element:
    return etree.fromstring(obj.to_string(nspair=_NSPAIR), parser=_PARSER)


@dataclass(frozen=True, slots=True)
class Subject:
    """Who the assertion is about, as this supplier knows them."""

    name_id: str
    name_format: str
    authn_instant: datetime
    session_index: str


@dataclass(frozen=True, slots=True)
class Delivery:
    """Where and how the response goes."""

    sp_entity: str
    acs_url: str
    in_response_to: str | None
    sign_assertion: bool
    sign_response: bool
    encryption_cert: str | None
    encryption_algorithm: str = DEFAULT_ALGORITHM


_XSI = "http://www.w3.org/2001/XMLSchema-instance"
_XS = "http://www.w3.org/2001/XMLSchema"
_NS_PLAIN = {"saml": SAML, "samlp": SAMLP}
_NS_TYPED = {"saml": SAML, "samlp": SAMLP, "xsi": _XSI}
_NS_XS = {"xs": _XS}
_XSI_TYPE = f"{{{_XSI}}}type"
_E = etree.Element
_S = etree.SubElement
# tag names resolved once: the hot path builds the same two dozen elements every time
_T = {name: f"{{{SAML}}}{name}" for name in (
    "Issuer", "Assertion", "Subject", "NameID", "SubjectConfirmation", "SubjectConfirmationData", "Conditions",
    "AudienceRestriction", "Audience", "AuthnStatement", "AuthnContext", "AuthnContextClassRef",
    "AttributeStatement", "Attribute", "AttributeValue")}
_TP = {name: f"{{{SAMLP}}}{name}" for name in ("Response", "Status", "StatusCode", "StatusMessage")}


def _add_issuer(parent: etree._Element, idp_entity: str) -> None:
    issuer = _S(parent, _T["Issuer"], Format=NAMEID_ENTITY)
    issuer.text = idp_entity


def _add_status(parent: etree._Element, code: str, sub_code: str | None = None, message: str | None = None) -> None:
    status = _S(parent, _TP["Status"])
    outer = _S(status, _TP["StatusCode"], Value=code)
    if sub_code:
        _S(outer, _TP["StatusCode"], Value=sub_code)
    if message:
        _S(status, _TP["StatusMessage"]).text = message


def _response_root(nsmap: dict[str, str], response_id: str, in_response_to: str | None, issued: str,
                   destination: str) -> etree._Element:
    root = _E(_TP["Response"], nsmap=nsmap, ID=response_id)
    if in_response_to is not None:
        root.set("InResponseTo", in_response_to)
    root.set("Version", "2.0")
    root.set("IssueInstant", issued)
    root.set("Destination", destination)
    return root


def _add_attributes(assertion: etree._Element, attributes: dict[str, list[str]]) -> None:
    statement = _S(assertion, _T["AttributeStatement"])
    for friendly, values in attributes.items():
        if not values:
            continue
        wire = attribute_name(friendly)
        attribute = _S(statement, _T["Attribute"], Name=wire.uri, NameFormat=ATTRNAME_URI)
        if wire.friendly is not None:
            attribute.set("FriendlyName", wire.friendly)
        for value in values:
            _S(attribute, _T["AttributeValue"], {_XSI_TYPE: "xs:string"}, nsmap=_NS_XS).text = value


def success_response(idp_entity: str, delivery: Delivery, subject: Subject,
                     attributes: dict[str, list[str]], *, now: datetime, lifetime: int,
                     signing_key: KeyMaterial) -> bytes:
    """A signed Response carrying one assertion for ``subject`` with its released attributes.

    Built straight as lxml elements (the tree python-xmlsec signs): no protocol
    objects serialised then parsed back on every sign-on.
    """
    issued = instant(now)
    until = instant(now + timedelta(seconds=lifetime))
    typed = any(values for values in attributes.values())
    root = _response_root(_NS_TYPED if typed else _NS_PLAIN, new_id(), delivery.in_response_to, issued,
                          delivery.acs_url)
    _add_issuer(root, idp_entity)
    _add_status(root, STATUS_SUCCESS)
    element = _S(root, _T["Assertion"], Version="2.0", ID=new_id(), IssueInstant=issued)
    _add_issuer(element, idp_entity)
    subject_el = _S(element, _T["Subject"])
    name_id = _S(subject_el, _T["NameID"])
    if subject.name_format == NAMEID_PERSISTENT:
        name_id.set("NameQualifier", idp_entity)
    name_id.set("SPNameQualifier", delivery.sp_entity)
    name_id.set("Format", subject.name_format)
    name_id.text = subject.name_id
    confirmation = _S(subject_el, _T["SubjectConfirmation"], Method=CM_BEARER)
    data = _S(confirmation, _T["SubjectConfirmationData"], NotOnOrAfter=until, Recipient=delivery.acs_url)
    if delivery.in_response_to is not None:
        data.set("InResponseTo", delivery.in_response_to)
    conditions = _S(element, _T["Conditions"], NotBefore=instant(now - CLOCK_SKEW), NotOnOrAfter=until)
    _S(_S(conditions, _T["AudienceRestriction"]), _T["Audience"]).text = delivery.sp_entity
    authn = _S(element, _T["AuthnStatement"], AuthnInstant=instant(subject.authn_instant),
               SessionIndex=subject.session_index)
    _S(_S(authn, _T["AuthnContext"]), _T["AuthnContextClassRef"]).text = AC_PASSWORD_PROTECTED
    if attributes:
        _add_attributes(element, attributes)
    if delivery.sign_assertion:
        sign(element, signing_key)
    if delivery.encryption_cert:
        encrypt_assertion(element, delivery.encryption_cert, delivery.encryption_algorithm)
    if delivery.sign_response or not delivery.sign_assertion:
        sign(root, signing_key)
    return etree.tostring(root, encoding="utf-8")


def status_response(idp_entity: str, destination: str, in_response_to: str | None, code: str,
                    sub_code: str | None, message: str | None, *, now: datetime,
                    signing_key: KeyMaterial) -> bytes:
    """A signed Response without assertion: NoPassive, RequestDenied, InvalidNameIDPolicy…"""
    root = _response_root(_NS_PLAIN, new_id(), in_response_to, instant(now), destination)
    _add_issuer(root, idp_entity)
    _add_status(root, code, sub_code, message)
    sign(root, signing_key)
    return etree.tostring(root, encoding="utf-8")


def logout_request(idp_entity: str, destination: str, name_id: str, name_format: str, sp_entity: str,
                   session_index: str | None, *, now: datetime, lifetime: int) -> tuple[str, etree._Element]:
    """An (unsigned) LogoutRequest and its ID; the binding signs it."""
    request_id = new_id()
    request = samlp.LogoutRequest(
        id=request_id, version="2.0", issue_instant=instant(now), destination=destination,
        not_on_or_after=instant(now + timedelta(seconds=lifetime)), issuer=_issuer(idp_entity),
        reason="urn:oasis:names:tc:SAML:2.0:logout:user",
        name_id=saml.NameID(text=name_id, format=name_format, sp_name_qualifier=sp_entity,
                            name_qualifier=idp_entity if name_format == NAMEID_PERSISTENT else None),
        session_index=[samlp.SessionIndex(text=session_index)] if session_index else None)
    return request_id, _to_lxml(request)


def logout_response(idp_entity: str, destination: str, in_response_to: str | None, code: str,
                    sub_code: str | None = None, *, now: datetime) -> etree._Element:
    """An (unsigned) LogoutResponse; the binding signs it."""
    response = samlp.LogoutResponse(
        id=new_id(), version="2.0", issue_instant=instant(now), destination=destination,
        in_response_to=in_response_to, issuer=_issuer(idp_entity), status=_status(code, sub_code))
    return _to_lxml(response)
