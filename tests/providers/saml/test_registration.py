"""Registering SAML suppliers: CLI, admin API, URL metadata refreshed with signature checks."""

from __future__ import annotations

import http.server
import threading
import time

import pytest
from lxml import etree
from sqlalchemy import select

from broker.db.models import Supplier


def _write(tmp_path, name: str, data: bytes | str) -> str:
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return str(path)


@pytest.fixture
def cli(make_app, broker_cli, idp_template, monkeypatch, flows):
    """``broker`` commands on a copy of the demo database (loading the demo costs seconds of argon2)."""
    import os
    import shutil

    shutil.copy(idp_template, os.environ["BROKER_DATABASE_URL"].removeprefix("sqlite:///"))
    monkeypatch.setenv("BROKER_SECRET_KEY", flows.SECRET)
    broker_cli.app = lambda: make_app(database_url=os.environ["BROKER_DATABASE_URL"], secret_key=flows.SECRET)
    return broker_cli


# -- the CLI, end to end ------------------------------------------------------------------------
def test_a_supplier_registered_with_the_cli_logs_a_patron_in(cli, flows, tmp_path):
    broker_cli = cli
    client = cli.app().test_client()
    sp = flows.ServiceProvider("cafeyn", client.get("/saml/metadata").data)
    result = broker_cli("suppliers", "add-saml", "cafeyn", "--metadata", _write(tmp_path, "sp.xml", sp.metadata()),
                        "--network", "calvados", "--release", "library,network,display_name", "--json")
    assert result.exit_code == 0, result.output
    row = result.json()
    assert row["entity_id"] == sp.entity_id and row["nameid"] == "persistent" and row["release"] == "library,network,display_name"
    listed = broker_cli("suppliers", "list", "--json").json()
    assert any(r["slug"] == "cafeyn" and r["protocol"] == "saml" and r["entity_id"] == sp.entity_id for r in listed)
    auth, _ = flows.sso(client, sp)
    assert auth.get_errors() == [], auth.get_last_error_reason()
    assert auth.get_friendlyname_attributes()["displayName"] == ["Sarah Fontaine"]


def test_cli_refuses_bad_metadata_with_a_precise_message(idp_metadata, cli, flows, tmp_path):
    broker_cli = cli
    sp = flows.ServiceProvider("vodeclic", idp_metadata)
    good = sp.metadata()

    def add(data, *extra):
        return broker_cli("suppliers", "add-saml", "vodeclic", "--metadata", _write(tmp_path, "m.xml", data),
                          "--network", "calvados", *extra)

    no_acs = etree.fromstring(good)
    for acs in no_acs.iter("{urn:oasis:names:tc:SAML:2.0:metadata}AssertionConsumerService"):
        acs.getparent().remove(acs)
    cases = [
        (etree.tostring(no_acs), (), "no AssertionConsumerService with the HTTP-POST binding"),
        (good.replace(b"https://vodeclic.example.org/Shibboleth.sso/SAML2/POST", b"http://vodeclic.example.org/acs"),
         (), "is not an https URL"),
        (b'<!DOCTYPE x [<!ENTITY e "e">]>' + good, (), "DOCTYPE"),
        (b"<not metadata", (), "not well-formed"),
        (good.replace(b"urn:oasis:names:tc:SAML:2.0:protocol", b"urn:example"), (), "SAML 2.0 support"),
        (good, ("--nameid", "email"), "Invalid value for '--nameid'"),
    ]
    for data, extra, message in cases:
        result = add(data, *extra)
        assert result.exit_code == 2, (message, result.output)
        assert message in result.output, result.output
    # encryption needs an encryption certificate
    no_enc = etree.fromstring(good)
    for kd in list(no_enc.iter("{urn:oasis:names:tc:SAML:2.0:metadata}KeyDescriptor")):
        if kd.get("use") == "encryption":
            kd.getparent().remove(kd)
    result = add(etree.tostring(no_enc), "--encrypt")
    assert result.exit_code == 2 and "no encryption certificate" in result.output
    # one entity per supplier
    assert add(good).exit_code == 0
    result = broker_cli("suppliers", "add-saml", "other", "--metadata", _write(tmp_path, "m2.xml", good),
                        "--network", "calvados")
    assert result.exit_code == 2 and "already registered as supplier 'vodeclic'" in result.output


def test_existing_supplier_without_protocol_gets_saml(idp_metadata, cli, flows, tmp_path):
    broker_cli = cli
    sp = flows.ServiceProvider("skilleos", idp_metadata)
    result = broker_cli("suppliers", "add-saml", "skilleos", "--metadata", _write(tmp_path, "s.xml", sp.metadata()),
                        "--network", "calvados", "--json")
    assert result.exit_code == 0, result.output
    assert result.json()["name"] == "Skilleos"  # the demo's supplier, now speaking SAML


# -- metadata from a URL -----------------------------------------------------------------------
class _Served:
    def __init__(self):
        self.body = b""


@pytest.fixture
def metadata_server():
    served = _Served()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/samlmetadata+xml")
            self.send_header("Content-Length", str(len(served.body)))
            self.end_headers()
            self.wfile.write(served.body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    served.url = f"http://127.0.0.1:{server.server_address[1]}/sp-metadata.xml"
    yield served
    server.shutdown()
    server.server_close()


@pytest.fixture
def federation():
    """A federation's metadata signing key, as a KeyMaterial our signer takes."""
    from broker.keys import KeyMaterial, generate

    key, pem, cert, jwk = generate("oidc-rs256")
    from broker.keys import _self_signed

    cert = _self_signed(key, "Federation metadata signer")
    return KeyMaterial(jwk["kid"], "federation", "RS256", "current", key, pem, cert, jwk)


def _signed(xml: bytes, km) -> bytes:
    from broker.providers.saml.signing import sign

    root = etree.fromstring(xml)
    root.set("ID", "_federation")
    sign(root, km)
    return etree.tostring(root)


def test_url_metadata_is_verified_and_refreshed(idp, idp_metadata, flows, metadata_server, federation, tmp_path):
    from broker.errors import InvalidInput
    from broker.providers.saml import registry

    runtime = idp.extensions["broker"]
    sp = flows.ServiceProvider("cafeyn", idp_metadata)
    metadata_server.body = _signed(sp.metadata(), federation)
    with runtime.db.session() as s, pytest.raises(InvalidInput, match="must be signed"):
        registry.add_saml(runtime, s, "cafeyn", metadata=metadata_server.url, networks=["calvados"])
    with runtime.db.session() as s:
        registry.add_saml(runtime, s, "cafeyn", metadata=metadata_server.url, networks=["calvados"],
                          metadata_cert=federation.certificate_pem)
    assert flows.sso(idp.test_client(), sp)[0].get_errors() == []

    # a changed document, properly signed: taken
    changed = sp.metadata().replace(b"/Shibboleth.sso/SAML2/POST", b"/Shibboleth.sso/SAML2/POST2")
    metadata_server.body = _signed(changed, federation)
    assert registry.refresh_due(runtime, force=True) == [{"slug": "cafeyn", "changed": True, "error": ""}]
    # tampered after signing: refused, the last good metadata stays
    metadata_server.body = _signed(sp.metadata(), federation).replace(b"cafeyn.example.org/Shibboleth.sso/SLO",
                                                                        b"evil.example.net/Shibboleth.sso/SLO")
    (result,) = registry.refresh_due(runtime, force=True)
    assert result["changed"] is False and "does not verify" in result["error"]
    with runtime.db.session() as s:
        supplier = s.scalar(select(Supplier).where(Supplier.slug == "cafeyn"))
        assert b"SAML2/POST2" in supplier.config["metadata"].encode()
        assert b"evil.example.net" not in supplier.config["metadata"].encode()
    # not due yet: nothing fetched
    assert registry.refresh_due(runtime) == []

    # once due, the running app refreshes it by itself, in the background
    metadata_server.body = _signed(sp.metadata().replace(b"SAML2/POST", b"SAML2/POST3"), federation)
    with runtime.db.session() as s:
        supplier = s.scalar(select(Supplier).where(Supplier.slug == "cafeyn"))
        supplier.config = {**supplier.config, "next_refresh": 0}
    idp.clock.advance(60)  # a minute passes: the next request may look
    assert idp.test_client().get("/saml/metadata").status_code == 200
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with runtime.db.session() as s:
            if b"SAML2/POST3" in s.scalar(select(Supplier.config).where(Supplier.slug == "cafeyn"))["metadata"].encode():
                break
        time.sleep(0.05)
    else:
        raise AssertionError("the due metadata was not refreshed in the background")


def test_url_metadata_needs_a_certificate_on_the_cli(broker_cli, metadata_server):
    result = broker_cli("suppliers", "add-saml", "cafeyn", "--metadata", metadata_server.url, "--network", "calvados")
    assert result.exit_code == 2 and "--metadata-cert" in result.output


# -- the admin API -------------------------------------------------------------------------------
def _token(runtime, email: str) -> str:
    from broker.services import staff

    with runtime.db.session() as s:
        return staff.create_api_token(runtime, s, staff.get_user(s, email), "saml", actor="test")


def _denied(runtime) -> list[tuple[str, str, str]]:
    from sqlalchemy import select

    from broker.db.models import AuditEvent

    with runtime.db.session() as s:
        return [(e.actor, e.action, e.target) for e in s.scalars(
            select(AuditEvent).where(AuditEvent.outcome == "denied").order_by(AuditEvent.id))]


def test_admin_api_registers_saml_suppliers(idp, idp_metadata, flows):
    runtime = idp.extensions["broker"]
    client = idp.test_client()
    sp = flows.ServiceProvider("cafeyn", idp_metadata, want_encrypted=True)
    body = {"slug": "cafeyn", "name": "Cafeyn", "networks": ["calvados"], "metadata": sp.metadata().decode(),
            "release": ["library", "network"], "encrypt": True}
    assert client.post("/api/v1/suppliers/saml", json=body).status_code == 401
    referent = _token(runtime, "referent@bayeux.example.org")
    response = client.post("/api/v1/suppliers/saml", json=body, headers={"Authorization": f"Bearer {referent}"})
    assert response.status_code == 403
    admin = {"Authorization": f"Bearer {_token(runtime, 'admin@calvados.example.org')}"}
    response = client.post("/api/v1/suppliers/saml", json={**body, "networks": ["caen-la-mer"]}, headers=admin)
    assert response.status_code == 403 and response.json["error"] == "out_of_scope"
    assert _denied(runtime) == [("referent@bayeux.example.org", "supplier.add", "calvados"),
                                ("admin@calvados.example.org", "supplier.add", "caen-la-mer")]
    response = client.post("/api/v1/suppliers/saml", json={**body, "metadata": "<x"}, headers=admin)
    assert response.status_code == 400 and response.json["error"] == "saml_invalid"
    response = client.post("/api/v1/suppliers/saml", json={**body, "colour": "red"}, headers=admin)
    assert response.status_code == 400 and response.json["error"] == "unknown_field"
    assert response.json["field"] == "colour" and response.json["message"] == "Champ inconnu : colour."
    response = client.post("/api/v1/suppliers/saml", json={**body, "encrypt": "yes"}, headers=admin)
    assert response.status_code == 400 and response.json["error"] == "wrong_type"
    response = client.post("/api/v1/suppliers/saml", json={**body, "metadata": "x" * 70_000}, headers=admin)
    assert response.status_code == 400 and response.json["error"] == "body_too_large"
    response = client.post("/api/v1/suppliers/saml", json=body, headers=admin)
    assert response.status_code == 201, response.json
    assert response.json["entity_id"] == sp.entity_id and response.json["encrypt"] is True
    listed = client.get("/api/v1/suppliers/saml", headers=admin).json["suppliers"]
    assert [r["slug"] for r in listed] == ["cafeyn"]
    assert flows.sso(client, sp)[0].get_errors() == []
