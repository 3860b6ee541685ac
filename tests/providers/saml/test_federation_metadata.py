"""What a federation asks of the IdP metadata, and the assertion encryption each supplier's metadata call for.

The metadata are read by python3-saml (independent of the IdP's own code) and
validated against the SAML metadata schema it ships; encrypted assertions are
decrypted by python3-saml playing the supplier.
"""

from __future__ import annotations

import base64
import logging
import shutil

import pytest
import xmlsec
from lxml import etree

MD = "urn:oasis:names:tc:SAML:2.0:metadata"
DS = "http://www.w3.org/2000/09/xmldsig#"
MDUI = "urn:oasis:names:tc:SAML:metadata:ui"
XENC = "http://www.w3.org/2001/04/xmlenc#"
NS = {"md": MD, "ds": DS, "mdui": MDUI, "xenc": XENC, "saml": "urn:oasis:names:tc:SAML:2.0:assertion"}
LANG = "{http://www.w3.org/XML/1998/namespace}lang"
GCM256 = "http://www.w3.org/2009/xmlenc11#aes256-gcm"
CBC128 = "http://www.w3.org/2001/04/xmlenc#aes128-cbc"
CBC256 = "http://www.w3.org/2001/04/xmlenc#aes256-cbc"

FEDERATION = {
    "saml_organization_name": "Réseau des médiathèques du Calvados",
    "saml_organization_url": "https://www.calvados.example.org/",
    "saml_technical_contact_name": "Équipe technique",
    "saml_technical_contact_email": "sso-tech@calvados.example.org",
    "saml_support_contact_name": "Support",
    "saml_support_contact_email": "mailto:sso-support@calvados.example.org",
    "saml_logo_url": "https://www.calvados.example.org/logo.png",
    "saml_logo_width": 120, "saml_logo_height": 60,
}


@pytest.fixture
def federated_idp(make_app, idp_template, tmp_path, flows):
    target = tmp_path / "federated.db"
    shutil.copy(idp_template, target)
    return make_app(secret_key=flows.SECRET, database_url=f"sqlite:///{target}", **FEDERATION)


def _metadata(app) -> bytes:
    response = app.test_client().get("/saml/metadata")
    assert response.status_code == 200, response.text
    return response.data


def _validate_schema(xml: bytes) -> None:
    from onelogin.saml2.xml_utils import OneLogin_Saml2_XML

    result = OneLogin_Saml2_XML.validate_xml(xml, "saml-schema-metadata-2.0.xsd", False)
    assert not isinstance(result, str), result


def _verify_signature(root) -> None:
    cert = root.find("md:IDPSSODescriptor/md:KeyDescriptor[@use='signing']//ds:X509Certificate", NS).text
    pem = "-----BEGIN CERTIFICATE-----\n" + cert + "\n-----END CERTIFICATE-----\n"
    ctx = xmlsec.SignatureContext()
    ctx.key = xmlsec.Key.from_memory(pem, xmlsec.constants.KeyDataFormatCertPem)
    ctx.register_id(root, "ID")
    ctx.verify(root.find("ds:Signature", NS))


def test_metadata_carry_organization_contacts_and_ui_info(federated_idp):
    xml = _metadata(federated_idp)
    _validate_schema(xml)
    root = etree.fromstring(xml)
    _verify_signature(root)

    org = root.find("md:Organization", NS)
    assert {(e.get(LANG), e.text) for e in org.iterfind("md:OrganizationName", NS)} == {
        ("fr", "Réseau des médiathèques du Calvados"), ("en", "Réseau des médiathèques du Calvados")}
    assert {e.text for e in org.iterfind("md:OrganizationURL", NS)} == {"https://www.calvados.example.org/"}
    contacts = {c.get("contactType"): (c.findtext("md:GivenName", namespaces=NS), c.findtext("md:EmailAddress", namespaces=NS))
                for c in root.iterfind("md:ContactPerson", NS)}
    assert contacts == {"technical": ("Équipe technique", "mailto:sso-tech@calvados.example.org"),
                        "support": ("Support", "mailto:sso-support@calvados.example.org")}

    ui = root.find("md:IDPSSODescriptor/md:Extensions/mdui:UIInfo", NS)
    assert ui is not None
    names = {e.get(LANG): e.text for e in ui.iterfind("mdui:DisplayName", NS)}
    assert names == {"fr": "Sésame — bibliothèques", "en": "Sésame — libraries"}
    assert set(e.get(LANG) for e in ui.iterfind("mdui:Description", NS)) == {"fr", "en"}
    assert {(e.get(LANG), e.text) for e in ui.iterfind("mdui:InformationURL", NS)} == {
        ("fr", "http://localhost/"), ("en", "http://localhost/")}
    assert {(e.get(LANG), e.text) for e in ui.iterfind("mdui:PrivacyStatementURL", NS)} == {
        ("fr", "http://localhost/privacy"), ("en", "http://localhost/privacy")}
    logo = ui.find("mdui:Logo", NS)
    assert (logo.text, logo.get("width"), logo.get("height")) == ("https://www.calvados.example.org/logo.png", "120", "60")

    # an independent SP reads the metadata with the new elements in place
    from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser

    parsed = OneLogin_Saml2_IdPMetadataParser.parse(xml.decode())["idp"]
    assert parsed["entityId"] == "http://localhost/saml/metadata"
    assert parsed["singleSignOnService"]["url"] == "http://localhost/saml/sso"


def test_default_metadata_are_valid_with_defaults_from_the_base_url(idp_metadata):
    _validate_schema(idp_metadata)
    root = etree.fromstring(idp_metadata)
    _verify_signature(root)
    assert root.find("md:ContactPerson", NS) is None  # no address configured: none invented
    assert root.findtext("md:Organization/md:OrganizationName", namespaces=NS) == "Sésame"
    ui = root.find("md:IDPSSODescriptor/md:Extensions/mdui:UIInfo", NS)
    assert ui.findtext("mdui:Logo", namespaces=NS) == "http://localhost/static/favicon.svg"
    assert ui.findtext("mdui:PrivacyStatementURL", namespaces=NS) == "http://localhost/privacy"


def test_published_ui_links_are_served(idp):
    client = idp.test_client()
    for path in ("/privacy", "/static/favicon.svg"):
        assert client.get(path).status_code == 200, path


def _with_methods(metadata: bytes, algorithms: list[str]) -> bytes:
    root = etree.fromstring(metadata)
    kds = root.findall(".//md:KeyDescriptor", NS)
    kds = [kd for kd in kds if kd.get("use") in (None, "encryption")]
    assert kds, "the SP metadata publish an encryption key"
    for kd in kds:
        for algorithm in algorithms:
            etree.SubElement(kd, f"{{{MD}}}EncryptionMethod", Algorithm=algorithm)
    return etree.tostring(root)


def _register(idp, sp, metadata: bytes) -> dict:
    from sqlalchemy import select

    from broker.db.models import Supplier
    from broker.providers.saml import registry

    runtime = idp.extensions["broker"]
    with runtime.db.session() as s:
        registry.add_saml(runtime, s, sp.name, metadata_xml=metadata, networks=["calvados"], name=sp.name.title(),
                          encrypt=True)
    with runtime.db.session() as s:
        return registry.describe(s.scalar(select(Supplier).where(Supplier.slug == sp.name)))


def _sso_algorithm(idp, sp, flows) -> tuple[str, object]:
    auth, fields = flows.sso(idp.test_client(), sp)
    assert auth.get_errors() == [], auth.get_last_error_reason()
    root = etree.fromstring(base64.b64decode(fields["SAMLResponse"]))
    assert root.find("saml:Assertion", NS) is None
    method = root.find("saml:EncryptedAssertion/xenc:EncryptedData/xenc:EncryptionMethod", NS)
    return method.get("Algorithm"), auth


@pytest.mark.parametrize("listed, expected, flagged", [
    ([], GCM256, False),  # nothing listed: AES-256-GCM
    ([CBC128, GCM256], GCM256, False),  # GCM offered: GCM, even listed second
    ([CBC128], CBC128, True),  # only CBC: CBC, and the supplier is flagged
    ([CBC256, CBC128], CBC256, True),
])
def test_encryption_follows_the_supplier_metadata(idp, make_sp, flows, listed, expected, flagged, caplog):
    sp = make_sp("lirtuel", register=False, encrypt=True)
    with caplog.at_level(logging.WARNING, logger="broker.saml"):
        row = _register(idp, sp, _with_methods(sp.metadata(), listed))
    assert row["encryption_algorithm"] == expected and row["cbc_only"] is flagged
    warned = [r for r in caplog.records if "only AES-CBC" in r.getMessage()]
    assert bool(warned) is flagged
    algorithm, auth = _sso_algorithm(idp, sp, flows)
    assert algorithm == expected
    assert auth.get_friendlyname_attributes()["eduPersonEntitlement"]  # decrypted by the supplier


def test_cbc_only_suppliers_are_flagged_in_the_cli_and_api(idp, make_sp, broker_cli, monkeypatch):
    runtime = idp.extensions["broker"]
    cbc = make_sp("lirtuel", register=False, encrypt=True)
    _register(idp, cbc, _with_methods(cbc.metadata(), [CBC128]))
    make_sp("cafeyn", encrypt=True)

    monkeypatch.setenv("BROKER_DATABASE_URL", runtime.settings.effective_database_url)
    monkeypatch.setenv("BROKER_SECRET_KEY", runtime.settings.secret_key)
    listed = broker_cli("suppliers", "list", "--json")
    assert listed.exit_code == 0, listed.output
    rows = {r["slug"]: r for r in listed.json()}
    assert rows["lirtuel"]["cbc_only"] is True and rows["lirtuel"]["encryption_algorithm"] == CBC128
    assert rows["cafeyn"]["cbc_only"] is False and rows["cafeyn"]["encryption_algorithm"] == GCM256
    assert not any("cbc_only" in r for r in rows.values() if r["protocol"] != "saml")


def test_choose_algorithm_prefers_gcm_and_ignores_unknown_uris():
    from broker.providers.saml.encryption import cbc_only, choose_algorithm

    assert choose_algorithm(["http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"]) == GCM256
    assert choose_algorithm(["urn:unknown", CBC256]) == CBC256 and cbc_only(["urn:unknown", CBC256])
    assert choose_algorithm([CBC256, "http://www.w3.org/2009/xmlenc11#aes128-gcm"]).endswith("aes128-gcm")
    assert not cbc_only([])
