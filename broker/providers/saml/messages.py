"""Outgoing SAML messages built with pysaml2's protocol classes, then signed (and encrypted) in-process.

pysaml2 gives well-formed protocol objects; the XML it serialises is parsed
back with lxml (it is our own output), signed with python-xmlsec and, for
suppliers that ask, the assertion encrypted before the response is signed.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from lxml import etree
from saml2 import saml, samlp

from ...keys import KeyMaterial
from .encryption import encrypt_assertion
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
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


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


def success_response(idp_entity: str, delivery: Delivery, subject: Subject,
                     attributes: dict[str, list[str]], *, now: datetime, lifetime: int,
                     signing_key: KeyMaterial) -> bytes:
    """A signed Response carrying one assertion for ``subject`` with its released attributes."""
    until = instant(now + timedelta(seconds=lifetime))
    name_id = saml.NameID(text=subject.name_id, format=subject.name_format,
                          name_qualifier=idp_entity if subject.name_format == NAMEID_PERSISTENT else None,
                          sp_name_qualifier=delivery.sp_entity)
    confirmation = saml.SubjectConfirmation(
        method=CM_BEARER,
        subject_confirmation_data=saml.SubjectConfirmationData(
            recipient=delivery.acs_url, not_on_or_after=until, in_response_to=delivery.in_response_to))
    statements = []
    if attributes:
        statements.append(saml.AttributeStatement(attribute=[
            saml.Attribute(name=attribute_name(friendly).uri, name_format=ATTRNAME_URI,
                           friendly_name=attribute_name(friendly).friendly,
                           attribute_value=[saml.AttributeValue(text=v) for v in values])
            for friendly, values in attributes.items() if values
        ]))
    assertion = saml.Assertion(
        id=new_id(), version="2.0", issue_instant=instant(now), issuer=_issuer(idp_entity),
        subject=saml.Subject(name_id=name_id, subject_confirmation=[confirmation]),
        conditions=saml.Conditions(
            not_before=instant(now - CLOCK_SKEW), not_on_or_after=until,
            audience_restriction=[saml.AudienceRestriction(audience=[saml.Audience(text=delivery.sp_entity)])]),
        authn_statement=[saml.AuthnStatement(
            authn_instant=instant(subject.authn_instant), session_index=subject.session_index,
            authn_context=saml.AuthnContext(
                authn_context_class_ref=saml.AuthnContextClassRef(text=AC_PASSWORD_PROTECTED)))],
        attribute_statement=statements,
    )
    response = samlp.Response(
        id=new_id(), version="2.0", issue_instant=instant(now), destination=delivery.acs_url,
        in_response_to=delivery.in_response_to, issuer=_issuer(idp_entity),
        status=_status(STATUS_SUCCESS), assertion=[assertion])
    root = _to_lxml(response)
    element = root.find(f"{{{SAML}}}Assertion")
    if delivery.sign_assertion:
        sign(element, signing_key)
    if delivery.encryption_cert:
        encrypt_assertion(element, delivery.encryption_cert)
    if delivery.sign_response or not delivery.sign_assertion:
        sign(root, signing_key)
    return etree.tostring(root, encoding="utf-8")


def status_response(idp_entity: str, destination: str, in_response_to: str | None, code: str,
                    sub_code: str | None, message: str | None, *, now: datetime,
                    signing_key: KeyMaterial) -> bytes:
    """A signed Response without assertion: NoPassive, RequestDenied, InvalidNameIDPolicy…"""
    response = samlp.Response(
        id=new_id(), version="2.0", issue_instant=instant(now), destination=destination,
        in_response_to=in_response_to, issuer=_issuer(idp_entity), status=_status(code, sub_code, message))
    root = _to_lxml(response)
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
