"""Hardened XML reading and SP metadata validation, without a browser."""

from __future__ import annotations

import pytest

from broker.providers.saml import spmeta
from broker.providers.saml.xmlsafe import SamlInputError, inflate, parse, text_of

MD = "urn:oasis:names:tc:SAML:2.0:metadata"


def _sp(entity="https://sp.example.org/shibboleth", extra_attrs="", body="", valid_until=""):
    until = f' validUntil="{valid_until}"' if valid_until else ""
    return f"""<md:EntityDescriptor xmlns:md="{MD}" entityID="{entity}"{until} cacheDuration="PT2H" {extra_attrs}>
  <md:Extensions>
    <mdattr:EntityAttributes xmlns:mdattr="urn:oasis:names:tc:SAML:metadata:attribute">
      <saml:Attribute xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"
          Name="urn:oasis:names:tc:SAML:profiles:subject-id:req"><saml:AttributeValue>any</saml:AttributeValue></saml:Attribute>
    </mdattr:EntityAttributes>
  </md:Extensions>
  <md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" AuthnRequestsSigned="true">
    <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:SOAP" Location="https://sp.example.org/soap"/>
    <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact"
        Location="https://sp.example.org/artifact" index="0" isDefault="true"/>
    <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
        Location="https://sp.example.org/acs2" index="2"/>
    <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
        Location="https://sp.example.org/acs1" index="1"/>
    {body}
  </md:SPSSODescriptor>
</md:EntityDescriptor>"""


def test_metadata_is_read_with_shibboleths_choices():
    meta = spmeta.read(_sp().encode())
    assert meta.entity_id == "https://sp.example.org/shibboleth"
    assert meta.default_acs().location == "https://sp.example.org/acs1"  # lowest index among HTTP-POST ones
    assert meta.acs_by_index(2).location == "https://sp.example.org/acs2"
    assert meta.slo == ()  # SOAP is not offered: front-channel only
    assert meta.authn_requests_signed and not meta.want_assertions_signed
    assert meta.cache_duration == 7200 and meta.subject_id_req == "any"


def test_aggregates_need_the_entity_named():
    aggregate = f'<md:EntitiesDescriptor xmlns:md="{MD}">{_sp()}{_sp("https://other.example.org/sp")}</md:EntitiesDescriptor>'
    with pytest.raises(SamlInputError, match="aggregate of 2 entities"):
        spmeta.read(aggregate.encode())
    assert spmeta.read(aggregate.encode(), "https://other.example.org/sp").entity_id == "https://other.example.org/sp"
    with pytest.raises(SamlInputError, match="no entity"):
        spmeta.read(aggregate.encode(), "https://missing.example.org")


@pytest.mark.parametrize("document,message", [
    (_sp(valid_until="2001-01-01T00:00:00Z"), "expired"),
    (_sp(entity=""), "entityID"),
    (_sp(body='<md:KeyDescriptor><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data>'
              '<ds:X509Certificate>bm90IGEgY2VydA==</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>'),
     "not a valid X.509 certificate"),
    (f'<md:EntityDescriptor xmlns:md="{MD}" entityID="x"/>', "not a service provider"),
    ("<md:Other xmlns:md='urn:oasis:names:tc:SAML:2.0:metadata'/>", "root element"),
])
def test_bad_metadata_is_named(document, message):
    with pytest.raises(SamlInputError, match=message):
        spmeta.read(document.encode())


@pytest.mark.parametrize("document,message", [
    (b'<?xml version="1.0" encoding="UTF-7"?><a/>', "only UTF-8"),
    ('<a/>'.encode("utf-16"), "only UTF-8"),
    (b"<a><?pi x?></a>", "processing instructions"),
    (b"<a>" * 10 + b"x" * 200_000, "too large"),
])
def test_hardened_parser_refusals(document, message):
    with pytest.raises(SamlInputError, match=message):
        parse(document)


def test_comments_do_not_cut_values():
    root = parse(b"<Issuer>https://sp.example.org/<!-- hidden -->shibboleth</Issuer>")
    assert text_of(root) == "https://sp.example.org/shibboleth"


def test_inflate_is_bounded():
    import zlib

    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    with pytest.raises(SamlInputError, match="too large once inflated"):
        inflate(compressor.compress(b"a" * 1_000_000) + compressor.flush(), what="SAMLRequest")
    with pytest.raises(SamlInputError, match="not valid DEFLATE"):
        inflate(b"\xff\xff\xff", what="SAMLRequest")


def test_the_post_page_works_without_javascript_and_in_english(idp, make_sp, flows):
    sp = make_sp("cafeyn")
    client = idp.test_client()
    flows.portal_login(client)
    url, _ = sp.login_url()
    page = client.get(flows.path_of(url)).text
    assert "<noscript>" in page and '<button type="submit"' in page and "Continuer" in page
    page = client.get(flows.path_of(sp.login_url()[0]) + "&lang=en").text
    assert "Continue" in page and 'lang="en"' in page


def test_the_documented_attribute_names_are_the_ones_sent():
    import re
    from pathlib import Path

    from broker.providers.saml.names import ATTRIBUTES

    doc = (Path(__file__).resolve().parents[3] / "docs" / "saml.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\|(?: [^|]+ \|)? ([A-Za-z-]+) \| `(urn:[^`]+)` \|", doc, flags=re.M)
    documented = {friendly: uri for friendly, uri in rows}
    sent = {a.friendly: a.uri for a in ATTRIBUTES.values()}
    assert documented == sent
