"""Fuzzing the SAML request reader: any SAMLRequest gives a clean refusal or a normal answer, never a crash.

Two levels: the parser alone on any bytes (only SamlInputError may come out),
and /saml/sso over both bindings with AuthnRequests whose every attribute and
element hypothesis writes, from a registered supplier and a logged-in patron,
so that requests reach the ACS choice and the response. Bounded and
derandomized so the run stays short and the same each time.
"""

from __future__ import annotations

import base64
import itertools
import zlib
from urllib.parse import urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
BOUNDED = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                   suppress_health_check=list(HealthCheck))

# text XML can carry (no control characters or surrogates), as lxml accepts in attributes and text
_XML_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Cn")), max_size=60)


def _maybe(strategy):
    return st.none() | strategy


_IDS = itertools.count()


@st.composite
def authn_requests(draw, issuer: str, acs: str) -> bytes:
    """An AuthnRequest whose parts are plausible, except those hypothesis picks to be anything at all."""
    from broker.clock import utcnow

    plausible = {
        "ID": f"_fuzz{next(_IDS)}", "Version": "2.0", "IssueInstant": utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "Destination": "http://localhost/saml/sso", "AssertionConsumerServiceURL": acs,
        "AssertionConsumerServiceIndex": None, "ProtocolBinding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST",
        "ForceAuthn": None, "IsPassive": None, "AttributeConsumingServiceIndex": None,
        "Issuer": issuer, "NameIDPolicy": "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
    }
    odd = {
        "ID": st.sampled_from(["_abc123", ""]) | _XML_TEXT,
        "Version": st.sampled_from(["1.1", ""]) | _XML_TEXT,
        "IssueInstant": st.sampled_from(["9999-12-31T23:59:59Z", "0001-01-01T00:00:00+14:00", "now"]) | _XML_TEXT,
        "Destination": _XML_TEXT,
        "AssertionConsumerServiceURL": st.sampled_from([acs + "x", "javascript:alert(1)"]) | _XML_TEXT,
        "AssertionConsumerServiceIndex": st.sampled_from(["0", "1", "-1", "99999999999999999999"])
        | st.integers().map(str) | _XML_TEXT,
        "ProtocolBinding": st.sampled_from(["urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact"]) | _XML_TEXT,
        "ForceAuthn": st.sampled_from(["true", "false", "1", "yes"]),
        "IsPassive": st.sampled_from(["true", "false", "0", "maybe"]),
        "AttributeConsumingServiceIndex": _XML_TEXT,
        "Issuer": _XML_TEXT,
        "NameIDPolicy": st.sampled_from(["urn:oasis:names:tc:SAML:2.0:nameid-format:transient",
                                         "urn:oasis:names:tc:SAML:2.0:nameid-format:emailAddress"]) | _XML_TEXT,
    }
    changed = draw(st.sets(st.sampled_from(sorted(odd)), max_size=4))
    values = {name: (draw(_maybe(odd[name])) if name in changed else value) for name, value in plausible.items()}
    root = etree.Element(f"{{{SAMLP}}}AuthnRequest", nsmap={"samlp": SAMLP, "saml": SAML})
    for name, value in values.items():
        if value is not None and name not in ("Issuer", "NameIDPolicy"):
            root.set(name, value)
    if values["Issuer"] is not None:
        etree.SubElement(root, f"{{{SAML}}}Issuer").text = values["Issuer"]
    if values["NameIDPolicy"] is not None:
        etree.SubElement(root, f"{{{SAMLP}}}NameIDPolicy", Format=values["NameIDPolicy"], AllowCreate="true")
    if draw(st.booleans()):
        extra = etree.SubElement(root, f"{{{SAMLP}}}RequestedAuthnContext", Comparison=draw(_XML_TEXT))
        etree.SubElement(extra, f"{{{SAML}}}AuthnContextClassRef").text = draw(_XML_TEXT)
    return etree.tostring(root)


def _redirect_query(xml: bytes, relay: str | None) -> str:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    params = {"SAMLRequest": base64.b64encode(compressor.compress(xml) + compressor.flush()).decode()}
    if relay is not None:
        params["RelayState"] = relay
    return urlencode(params)


@BOUNDED
@given(data=st.binary(max_size=400), binding=st.sampled_from(["GET", "POST"]))
def test_the_parser_refuses_any_bytes_cleanly(data: bytes, binding: str) -> None:
    from broker.providers.saml import inbound
    from broker.providers.saml.xmlsafe import SamlInputError

    if binding == "GET":
        compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
        data = compressor.compress(data) + compressor.flush()
    fields = {"SAMLRequest": base64.b64encode(data).decode()}
    try:
        received = inbound.receive(binding, fields, fields, b"")
        inbound.authn_request(received.root, received.issuer)
    except SamlInputError:
        pass


def test_sso_answers_any_authn_request_without_a_server_error(idp, make_sp, flows):
    sp = make_sp("cafeyn")
    client = idp.test_client()
    assert flows.portal_login(client).status_code == 302  # logged in: requests go as far as the response
    answered: list[int] = []

    @BOUNDED
    @given(xml=authn_requests(sp.entity_id, sp.acs), binding=st.sampled_from(["GET", "POST"]),
           relay=_maybe(_XML_TEXT))
    def run(xml: bytes, binding: str, relay: str | None) -> None:
        if binding == "GET":
            response = client.get("/saml/sso?" + _redirect_query(xml, relay))
        else:
            form = {"SAMLRequest": base64.b64encode(xml).decode()}
            if relay is not None:
                form["RelayState"] = relay
            response = client.post("/saml/sso", data=form)
        assert response.status_code < 500, (response.status_code, xml, response.text[:300])
        assert b"Traceback" not in response.data
        if response.status_code == 200 and b"SAMLResponse" in response.data:
            answered.append(1)

    run()
    assert answered, "no generated request reached a response: the fuzzing stopped at the first checks"
