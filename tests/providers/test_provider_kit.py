"""The provider contract kit (broker.testing.ProviderContract) run against the built-in providers.

Each harness performs one access the way the protocol's supplier would and
hands the kit everything the supplier received, decoded.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from urllib.parse import urlencode

import pytest

from broker.testing import Access, ProviderContract, query_of


# -- SAML ------------------------------------------------------------------------------------------
def _sp_metadata(slug: str) -> bytes:
    entity = f"https://{slug}.example.org/shibboleth"
    return f"""<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{entity}">
  <md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>
    <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
        Location="https://{slug}.example.org/Shibboleth.sso/SAML2/POST" index="0"/>
  </md:SPSSODescriptor>
</md:EntityDescriptor>""".encode()


class TestSamlProvider(ProviderContract):
    protocol = "saml"

    def add_supplier(self, runtime, session, slug, networks, release):
        from broker.providers.saml.registry import add_saml

        add_saml(runtime, session, slug, metadata_xml=_sp_metadata(slug), networks=networks, release=release)

    @pytest.fixture
    def access(self):
        from lxml import etree, html

        def run(client, slug) -> Access:
            answer = client.get("/saml/unsolicited?" + urlencode(
                {"providerId": f"https://{slug}.example.org/shibboleth"}))
            if answer.status_code != 200 or b"SAMLResponse" not in answer.data:
                return Access.refused(answer)
            form = html.fromstring(answer.data).forms[0]
            fields = {i.name: i.value for i in form.inputs if i.name}
            xml = base64.b64decode(fields["SAMLResponse"])
            doc = etree.fromstring(xml)
            ns = {"saml": "urn:oasis:names:tc:SAML:2.0:assertion", "samlp": "urn:oasis:names:tc:SAML:2.0:protocol"}
            status = doc.find("samlp:Status/samlp:StatusCode", ns).get("Value")
            if not status.endswith(":Success"):
                return Access(False, xml.decode(), status=answer.status_code)
            name_id = doc.find(".//saml:Subject/saml:NameID", ns)
            return Access(True, xml.decode(), name_id.text if name_id is not None else "", answer.status_code)

        return run


# -- OpenID Connect ----------------------------------------------------------------------------------
class TestOidcProvider(ProviderContract):
    protocol = "oidc"

    @pytest.fixture
    def clients(self):
        return {}

    @pytest.fixture
    def provider_secrets(self, clients):
        return [c.client_secret for c in clients.values()]

    @pytest.fixture
    def register_supplier(self, clients):
        from broker.providers.oidc.clients import register as register_client

        def register(runtime, slug, networks, release):
            with runtime.db.session() as s:
                clients[slug] = register_client(runtime, s, slug, redirect_uris=[f"https://{slug}.example.org/cb"],
                                                networks=networks, release=release)

        return register

    @pytest.fixture
    def access(self, clients):
        def run(client, slug) -> Access:
            reg = clients[slug]
            verifier = secrets.token_urlsafe(48)
            import hashlib

            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
            state = secrets.token_urlsafe(8)
            answer = client.get("/oidc/authorize?" + urlencode({
                "client_id": reg.client_id, "response_type": "code", "scope": "openid profile email library",
                "redirect_uri": reg.redirect_uris[0], "state": state, "nonce": secrets.token_urlsafe(8),
                "code_challenge": challenge, "code_challenge_method": "S256"}))
            location = answer.headers.get("Location", "")
            if answer.status_code != 302 or not location.startswith(reg.redirect_uris[0]) or "code" not in query_of(location):
                return Access(False, location + answer.get_data(as_text=True), status=answer.status_code)
            basic = base64.b64encode(f"{reg.client_id}:{reg.client_secret}".encode()).decode()
            token = client.post("/oidc/token", headers={"Authorization": f"Basic {basic}"}, data={
                "grant_type": "authorization_code", "code": query_of(location)["code"],
                "redirect_uri": reg.redirect_uris[0], "code_verifier": verifier})
            assert token.status_code == 200, token.get_data(as_text=True)
            tokens = token.get_json()
            payload = tokens["id_token"].split(".")[1]
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            info = client.get("/oidc/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
            received = json.dumps(claims, ensure_ascii=False) + info.get_data(as_text=True)
            return Access(True, received, claims["sub"], answer.status_code)

        return run


# -- CAS ---------------------------------------------------------------------------------------------
class TestCasProvider(ProviderContract):
    protocol = "cas"

    def add_supplier(self, runtime, session, slug, networks, release):
        from broker.providers.cas.services import register as register_service

        register_service(runtime, session, slug, patterns=[rf"https://{slug}\.example\.org/.*"], networks=networks,
                         release=release)

    @pytest.fixture
    def access(self):
        def run(client, slug) -> Access:
            service = f"https://{slug}.example.org/app"
            answer = client.get("/cas/login?" + urlencode({"service": service}))
            ticket = query_of(answer.headers.get("Location", "")).get("ticket")
            if answer.status_code != 302 or not ticket:
                return Access.refused(answer)
            checked = client.get("/cas/p3/serviceValidate?" + urlencode({"service": service, "ticket": ticket}))
            text = checked.get_data(as_text=True)
            user = re.search(r"<cas:user>([^<]+)</cas:user>", text)
            return Access(bool(user), text, user.group(1) if user else "", answer.status_code)

        return run


# -- signed links ------------------------------------------------------------------------------------
LINK_SECRET = "kit-link-shared-secret-" + "0c9d3e71"


class TestLinkProvider(ProviderContract):
    protocol = "link"

    @pytest.fixture
    def provider_secrets(self):
        return [LINK_SECRET]

    def add_supplier(self, runtime, session, slug, networks, release):
        from broker.providers.kit import validate_settings
        from broker.providers.link.settings import LinkSettings
        from broker.providers.link.suppliers import register as register_link

        names = {"library": "library", "network": "network", "email": "email", "display_name": "display_name"}
        extra = "".join(f"&{k}={{{k}}}" for k in names if k in release)
        settings = validate_settings(LinkSettings, {
            "url_template": f"https://{slug}.example.org/sso?u={{uid}}&t={{ts}}{extra}&s={{sig}}",
            "secret": LINK_SECRET})
        register_link(runtime, session, slug, settings, networks=networks, release=release)

    def redirect_prefix(self, slug):
        return f"https://{slug}.example.org/"

    def received(self, slug, location):
        import hashlib
        import hmac
        from urllib.parse import unquote

        q = query_of(location)
        expected = hmac.new(LINK_SECRET.encode(), (q["u"] + q["t"]).encode(), hashlib.sha256).hexdigest()
        assert hmac.compare_digest(expected, q["s"])
        return unquote(location), q["u"]
