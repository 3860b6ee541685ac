"""Hostile messages: each is refused with a page (never a response to the supplier), quickly."""

from __future__ import annotations

import base64
import copy
import time
import zlib
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import pytest
from lxml import etree

SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
DS = "http://www.w3.org/2000/09/xmldsig#"


def _refused(response, words: str = ""):
    assert response.status_code == 400, (response.status_code, response.text[:300])
    assert b'name="SAMLResponse"' not in response.data
    if words:
        assert words in response.text, response.text


def _signed_request_xml(sp) -> tuple[etree._Element, str]:
    form, request_id = sp.authn_request_post(sign=True)
    return etree.fromstring(base64.b64decode(form["SAMLRequest"])), request_id


def _post(client, root: etree._Element):
    return client.post("/saml/sso", data={"SAMLRequest": base64.b64encode(etree.tostring(root)).decode()})


@pytest.fixture
def signing_sp(make_sp):
    return make_sp("cafeyn", sign_requests=True)


def test_tampered_signed_post_request_is_refused(idp, signing_sp, flows):
    root, _ = _signed_request_xml(signing_sp)
    root.set("ForceAuthn", "false")  # any change after signing
    _refused(_post(idp.test_client(), root), "does not verify")


def test_signature_wrapping_is_refused(idp, signing_sp, make_sp, flows):
    """The signed request is hidden inside an evil one that asks for another ACS."""
    client = idp.test_client()
    flows.portal_login(client)
    signed, _ = _signed_request_xml(signing_sp)
    evil = copy.deepcopy(signed)
    evil.remove(evil.find(f"{{{DS}}}Signature"))
    evil.set("ID", "_evil")
    evil.set("AssertionConsumerServiceURL", "https://attacker.example.net/acs")
    extensions = etree.SubElement(evil, f"{{{SAMLP}}}Extensions")
    evil.insert(1, extensions)
    extensions.append(signed)
    _refused(_post(client, evil), "exactly one signature")

    # the signature moved up to the evil root, still pointing at the original element
    moved = copy.deepcopy(evil)
    inner = moved.find(f"{{{SAMLP}}}Extensions/{{{SAMLP}}}AuthnRequest")
    moved.insert(1, inner.find(f"{{{DS}}}Signature"))
    _refused(_post(client, moved), "reference the message itself")

    # two elements carrying the signed ID
    twin = copy.deepcopy(signed)
    twin.set("AssertionConsumerServiceURL", "https://attacker.example.net/acs")
    sig = twin.find(f"{{{DS}}}Signature")
    twin.remove(sig)
    holder = etree.SubElement(twin, f"{{{SAMLP}}}Extensions")
    holder.append(copy.deepcopy(signed))
    twin.insert(1, sig)
    _refused(_post(client, twin))


def test_tampered_signed_redirect_request_is_refused(idp, signing_sp, flows):
    url, _ = signing_sp.login_url(relay="https://cafeyn.example.org/a")
    assert "Signature=" in url
    client = idp.test_client()
    parts = urlsplit(url)
    tampered = parts.query.replace(quote("https://cafeyn.example.org/a", safe=""), quote("https://evil.example/", safe=""))
    _refused(client.get(f"{parts.path}?{tampered}"), "does not verify")
    # a valid signature over another request
    other, _ = signing_sp.login_url()
    params = parse_qs(urlsplit(other).query)
    mixed = dict(parse_qs(parts.query))
    mixed["Signature"] = params["Signature"]
    _refused(client.get(f"{parts.path}?{urlencode({k: v[0] for k, v in mixed.items()})}"))


def test_unsigned_request_refused_when_the_metadata_says_signed(idp, signing_sp, flows):
    form, _ = signing_sp.authn_request_post(sign=False)
    _refused(idp.test_client().post("/saml/sso", data=form), "are signed")


def test_acs_url_not_in_metadata_is_refused(idp, make_sp, flows):
    sp = make_sp("cafeyn")
    sp.settings["sp"]["assertionConsumerService"]["url"] = "https://attacker.example.net/acs"
    client = idp.test_client()
    flows.portal_login(client)
    url, _ = sp.login_url()
    _refused(client.get(flows.path_of(url)), "not in the supplier")


def test_replayed_signed_request_is_refused(idp, signing_sp, flows):
    client = idp.test_client()
    flows.portal_login(client)
    form, request_id = signing_sp.authn_request_post()
    first = client.post("/saml/sso", data=form)
    assert first.status_code == 200 and b"SAMLResponse" in first.data
    _refused(client.post("/saml/sso", data=form), "already used")


def test_unknown_supplier_gets_the_refusal_page(idp, make_sp, flows):
    sp = make_sp("nobody", register=False)
    url, _ = sp.login_url()
    response = idp.test_client().get(flows.path_of(url))
    assert response.status_code == 404 and b"SAMLResponse" not in response.data


def test_wrong_destination_is_refused(idp, signing_sp, flows):
    root, _ = _signed_request_xml(signing_sp)
    signing_sp.settings["idp"]["singleSignOnService"]["url"] = "https://elsewhere.example.org/sso"
    form, _ = signing_sp.authn_request_post()
    _refused(idp.test_client().post("/saml/sso", data=form), "Destination")


def test_old_requests_are_refused(idp, make_sp, flows):
    sp = make_sp("cafeyn")
    form, _ = sp.authn_request_post(sign=False)
    root = etree.fromstring(base64.b64decode(form["SAMLRequest"]))
    root.set("IssueInstant", "2020-01-01T00:00:00Z")
    _refused(_post(idp.test_client(), root), "too old")


ENTITY_BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_x" Version="2.0"
  IssueInstant="2030-01-01T00:00:00Z"><saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">&lol3;</saml:Issuer>
</samlp:AuthnRequest>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_x" Version="2.0"
  IssueInstant="2030-01-01T00:00:00Z"><saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">&xxe;</saml:Issuer>
</samlp:AuthnRequest>"""


@pytest.mark.parametrize("document", [ENTITY_BOMB, EXTERNAL_ENTITY], ids=["entity-expansion", "external-entity"])
def test_entities_are_refused_on_both_bindings(idp, document):
    client = idp.test_client()
    _refused(client.post("/saml/sso", data={"SAMLRequest": base64.b64encode(document).decode()}), "DOCTYPE")
    deflated = zlib.compressobj(9, zlib.DEFLATED, -15)
    encoded = base64.b64encode(deflated.compress(document) + deflated.flush()).decode()
    _refused(client.get("/saml/sso?" + urlencode({"SAMLRequest": encoded})), "DOCTYPE")
    _refused(client.post("/saml/slo", data={"SAMLRequest": base64.b64encode(document).decode()}), "DOCTYPE")


def test_oversized_messages_are_refused_fast(idp):
    client = idp.test_client()
    big = base64.b64encode(b"<a>" + b"x" * 200_000 + b"</a>").decode()
    # a deflate bomb: 20 MB in about 27 kilobytes
    bomb = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = base64.b64encode(bomb.compress(b"<" + b"a" * 20_000_000) + bomb.flush()).decode()
    started = time.perf_counter()
    _refused(client.post("/saml/sso", data={"SAMLRequest": big}), "too large")
    _refused(client.get("/saml/sso?" + urlencode({"SAMLRequest": data})), "too large once inflated")
    assert time.perf_counter() - started < 2


@pytest.mark.parametrize("value", ["not base64!", base64.b64encode(b"<not-xml").decode(),
                                   base64.b64encode(b"<a xmlns='urn:x'/>").decode()])
def test_garbage_gets_a_precise_400(idp, value):
    _refused(idp.test_client().post("/saml/sso", data={"SAMLRequest": value}))


def test_missing_message(idp):
    _refused(idp.test_client().get("/saml/sso"), "no SAMLRequest")


def test_redirect_signature_cannot_cover_another_request_under_an_encoded_name(idp, signing_sp, flows):
    """``%53AMLRequest`` is ``SAMLRequest`` to the request parser: the signature must cover that very value.

    A valid signed query is kept whole, and an unsigned request of the attacker's
    is put first under the percent-encoded name: the view would read the
    attacker's request while the signature check saw only the genuine one.
    """
    url, _ = signing_sp.login_url()
    parts = urlsplit(url)
    form, _ = signing_sp.authn_request_post(sign=False)
    evil = base64.b64encode(zlib.compress(base64.b64decode(form["SAMLRequest"]))[2:-4]).decode()
    query = f"%53AMLRequest={quote(evil, safe='')}&{parts.query}"
    _refused(idp.test_client().get(f"{parts.path}?{query}"), "repeats the parameter")
