"""The keys page: every key with its state, fingerprint and dates, read-only, for network admins only."""

from __future__ import annotations

import hashlib

from cryptography import x509

from fixtures.staff import ADMIN, CAEN_ADMIN, REFERENT, as_staff, audit_rows


def test_admins_see_each_key_with_its_state_and_fingerprint(staff_app):

    rt = staff_app.extensions["broker"]
    store = rt.key_store
    current = store.current("saml-signing")
    store.current("oidc-es256")
    store.rotate("saml-signing")  # a next key is published beside the current one
    for account in (ADMIN, CAEN_ADMIN):
        client = as_staff(staff_app, staff_app.test_client(), account)
        r = client.get("/staff/keys")
        page = r.get_data(as_text=True)
        assert r.status_code == 200
        assert current.kid in page and "Actuelle (signe)" in page and "Suivante (publiée, pas encore utilisée)" in page
        cert = x509.load_pem_x509_certificate(current.certificate_pem.encode())
        digest = hashlib.sha256(cert.public_bytes(__import__("cryptography.hazmat.primitives.serialization",
                                                            fromlist=["Encoding"]).Encoding.DER)).hexdigest()
        assert ":".join(digest[i:i + 2] for i in range(0, 64, 2)).upper() in page
        assert "JWK " in page  # the OIDC key's RFC 7638 thumbprint
        assert "broker keys rotate" in page and "<form" not in page.split("<main", 1)[1].split("</main>")[0]
    assert client.get("/staff/keys", headers={"Accept-Language": "en"}).status_code == 200


def test_a_referent_gets_403_recorded_as_denied(staff_app):
    client = as_staff(staff_app, staff_app.test_client(), REFERENT)
    assert client.get("/staff/keys").status_code == 403
    assert (REFERENT[0], "keys.view") in {(e[0], e[1]) for e in audit_rows(staff_app, outcome="denied")}
