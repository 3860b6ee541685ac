"""The IdP metadata, and a key rollover seen from a supplier, with no restart."""

from __future__ import annotations

import base64

import xmlsec
from lxml import etree

MD = "urn:oasis:names:tc:SAML:2.0:metadata"
DS = "http://www.w3.org/2000/09/xmldsig#"
NS = {"md": MD, "ds": DS, "shibmd": "urn:mace:shibboleth:metadata:1.0"}


def _certs(root, use: str) -> list[str]:
    return [el.text for el in root.iterfind(f".//md:KeyDescriptor[@use='{use}']//ds:X509Certificate", NS)]


def _pem(b64: str) -> str:
    return "-----BEGIN CERTIFICATE-----\n" + b64 + "\n-----END CERTIFICATE-----\n"


def test_metadata_describes_the_idp(idp_metadata):
    root = etree.fromstring(idp_metadata)
    assert root.get("entityID") == "http://localhost/saml/metadata"
    assert root.get("validUntil") and root.get("cacheDuration") == "PT6H"
    idp = root.find("md:IDPSSODescriptor", NS)
    sso = {e.get("Binding").rsplit(":", 1)[1]: e.get("Location") for e in idp.iterfind("md:SingleSignOnService", NS)}
    slo = {e.get("Binding").rsplit(":", 1)[1]: e.get("Location") for e in idp.iterfind("md:SingleLogoutService", NS)}
    assert sso == {"HTTP-Redirect": "http://localhost/saml/sso", "HTTP-POST": "http://localhost/saml/sso"}
    assert slo == {"HTTP-Redirect": "http://localhost/saml/slo", "HTTP-POST": "http://localhost/saml/slo"}
    assert [e.text for e in idp.iterfind("md:NameIDFormat", NS)] == [
        "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent", "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"]
    assert len(_certs(root, "signing")) == 1 and len(_certs(root, "encryption")) == 1
    assert {s.text for s in idp.iterfind(".//shibmd:Scope", NS)} == {"calvados.sesame.example.org",
                                                                      "caenlamer.sesame.example.org"}


def test_metadata_is_signed_by_the_published_signing_key(idp_metadata):
    root = etree.fromstring(idp_metadata)
    signature = root.find("ds:Signature", NS)
    ctx = xmlsec.SignatureContext()
    ctx.key = xmlsec.Key.from_memory(_pem(_certs(root, "signing")[0]), xmlsec.constants.KeyDataFormatCertPem)
    ctx.register_id(root, "ID")
    ctx.verify(signature)


def test_a_fresh_instance_creates_its_keys_on_first_use(make_app):
    app = make_app()
    response = app.test_client().get("/saml/metadata")
    assert response.status_code == 200

    rows = app.extensions["broker"].key_store.describe()
    assert sorted(r["purpose"] for r in rows) == ["saml-encryption", "saml-signing"]


def _signing_cert_of(fields) -> str:
    root = etree.fromstring(base64.b64decode(fields["SAMLResponse"]))
    return "".join(root.find("ds:Signature//ds:X509Certificate", NS).text.split())


def test_key_rollover_without_restart(idp, make_sp, flows, broker_cli, monkeypatch):
    """publish next → suppliers refresh → switch → retire, all seen by the running app."""

    runtime = idp.extensions["broker"]
    # the running app looks at the key version at most once a second: here at every lookup, as when
    # a second passes between two steps
    runtime.key_store.check_interval = 0
    client = idp.test_client()
    sp = make_sp("cafeyn")
    _, fields = flows.sso(client, sp)
    old = _signing_cert_of(fields)

    # the CLI runs against the same database, as an operator's shell would
    monkeypatch.setenv("BROKER_DATABASE_URL", runtime.settings.effective_database_url)
    monkeypatch.setenv("BROKER_SECRET_KEY", runtime.settings.secret_key)
    step = broker_cli("keys", "rotate", "--purpose", "saml-signing", "--json")
    assert step.exit_code == 0, step.output
    assert step.json()[0]["status"] == "next"

    published = _certs(etree.fromstring(client.get("/saml/metadata").data), "signing")
    assert len(published) == 2 and old in published
    url, request_id = sp.login_url()
    _, fields = flows.form_of(client.get(flows.path_of(url)))
    assert _signing_cert_of(fields) == old  # the next key is published, not yet used

    refreshed = make_sp("cafeyn", register=False)
    refreshed.idp_metadata = client.get("/saml/metadata").data
    refreshed.__post_init__()  # the supplier reloads the IdP metadata: it now knows both keys
    assert broker_cli("keys", "rotate", "--purpose", "saml-signing").exit_code == 0
    url, request_id = refreshed.login_url()
    _, fields = flows.form_of(client.get(flows.path_of(url)))
    new = _signing_cert_of(fields)
    assert new != old and new in published
    assert refreshed.accept(fields, request_id).get_errors() == []
    listed = broker_cli("keys", "list", "--json").json()
    statuses = {r["status"] for r in listed if r["purpose"] == "saml-signing"}
    assert statuses == {"current", "previous"}

    assert broker_cli("keys", "retire", "saml-signing").exit_code == 0
    published = _certs(etree.fromstring(client.get("/saml/metadata").data), "signing")
    assert published == [new]
    assert runtime.key_store.current("saml-signing").certificate_b64 == new
