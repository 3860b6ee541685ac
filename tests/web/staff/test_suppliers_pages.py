"""Suppliers pages: add and edit each protocol, the bundle, disable, the release policy and its preview.

Network admins only, their networks only; every change audited with its values before and after, secrets masked;
bad input shows the error beside the field and writes nothing.
"""

from __future__ import annotations

import pytest

from fixtures.staff import (
    ADMIN,
    CAEN_ADMIN,
    REFERENT,
    VIRE_LIB,
    as_staff,
    audit_rows,
    post,
)
from fixtures.suppliers import active_membership, closed_port, sp_metadata


def _supplier(app, slug):
    from broker.services.suppliers import get_supplier

    with app.extensions["broker"].db.session() as s:
        row = get_supplier(s, slug)
        return {"name": row.name, "protocol": row.protocol, "enabled": row.enabled, "release": list(row.release),
                "networks": sorted(n.slug for n in row.networks), "config": dict(row.config or {}),
                "entity_id": row.saml_entity_id, "client_id": row.oidc_client_id}


def _count(app):
    from sqlalchemy import func, select

    from broker.db.models import Supplier

    with app.extensions["broker"].db.session() as s:
        return s.scalar(select(func.count(Supplier.id)))


def _upload(client, path, data, files, page):
    from fixtures.staff import csrf

    body = {**data, "csrf_token": csrf(client, page)}
    body.update(files)
    return client.post(path, data=body, content_type="multipart/form-data")


def test_the_list_shows_protocol_networks_and_state(staff_app):
    client = as_staff(staff_app, staff_app.test_client(), ADMIN)
    page = client.get("/staff/suppliers").get_data(as_text=True)
    assert "Cafeyn" in page and "Protocole" in page and "Actif" in page and "Ajouter un fournisseur" in page
    for protocol in ("saml", "oidc", "cas", "link"):
        r = client.get(f"/staff/suppliers/new?protocol={protocol}")
        assert r.status_code == 200, protocol


def test_saml_supplier_by_upload_then_bad_metadata_writes_nothing(staff_app):
    import io

    client = as_staff(staff_app, staff_app.test_client(), ADMIN)
    form = {"name": "Numilog", "slug": "numilog", "category": "livre", "networks-shown": "1", "networks": "calvados",
            "release": ["library", "network"], "settings.nameid": "persistent", "settings.sign": "response"}
    before = _count(staff_app)
    # no ACS: refused beside the metadata field, nothing written
    r = _upload(client, "/staff/suppliers/new?protocol=saml", form,
                {"settings.metadata_file": (io.BytesIO(sp_metadata("numilog", acs=False).encode()), "sp.xml")},
                "/staff/suppliers/new?protocol=saml")
    page = r.get_data(as_text=True)
    assert r.status_code == 400 and 'id="s-metadata-error"' in page and "AssertionConsumerService" in page
    assert _count(staff_app) == before
    r = _upload(client, "/staff/suppliers/new?protocol=saml", form,
                {"settings.metadata_file": (io.BytesIO(b"<not xml"), "sp.xml")}, "/staff/suppliers/new?protocol=saml")
    assert r.status_code == 400 and 'id="s-metadata-error"' in r.get_data(as_text=True)
    assert _count(staff_app) == before
    r = _upload(client, "/staff/suppliers/new?protocol=saml", form,
                {"settings.metadata_file": (io.BytesIO(sp_metadata("numilog").encode()), "sp.xml")},
                "/staff/suppliers/new?protocol=saml")
    assert r.status_code == 303, r.get_data(as_text=True)[:3000]
    row = _supplier(staff_app, "numilog")
    assert row["protocol"] == "saml" and row["entity_id"] == "https://numilog.example.org/shibboleth"
    assert row["networks"] == ["calvados"]
    page = client.get("/staff/suppliers/numilog").get_data(as_text=True)
    assert "https://numilog.example.org/Shibboleth.sso/SAML2/POST" in page and "fichier envoyé" in page
    # a URL whose server does not answer: the previous metadata stay, the error is shown
    url = f"http://localhost:{closed_port()}/metadata.xml"
    with staff_app.extensions["broker"].db.session() as s:
        from broker.services.suppliers import get_supplier

        found = get_supplier(s, "numilog")
        found.config = {**found.config, "metadata_url": url}
    r = post(client, "/staff/suppliers/numilog/refresh", {}, page="/staff/suppliers/numilog")
    assert r.status_code == 303
    page = client.get("/staff/suppliers/numilog").get_data(as_text=True)
    assert 'id="refresh-error"' in page and "cannot be fetched" in page
    assert _supplier(staff_app, "numilog")["entity_id"] == "https://numilog.example.org/shibboleth"
    # options change without new metadata; the change is audited before/after
    r = post(client, "/staff/suppliers/numilog/settings",
             {"name": "Numilog", "networks-shown": "1", "networks": "calvados", "settings.metadata_url": url,
              "settings.nameid": "transient", "settings.sign": "both"}, page="/staff/suppliers/numilog")
    assert r.status_code == 303, r.get_data(as_text=True)[:3000]
    assert _supplier(staff_app, "numilog")["config"]["nameid"] == "transient"
    edit = audit_rows(staff_app, action="supplier.edit")[-1]
    assert edit[0] == ADMIN[0] and edit[2] == "numilog"
    assert edit[4]["before"]["settings.nameid"] == "persistent" and edit[4]["after"]["settings.nameid"] == "transient"
    # encryption without an encryption certificate in the metadata: refused beside the box
    r = post(client, "/staff/suppliers/numilog/settings",
             {"name": "Numilog", "settings.metadata_url": url, "settings.encrypt": "1"}, page="/staff/suppliers/numilog")
    assert r.status_code == 400 and 'id="s-encrypt-error"' in r.get_data(as_text=True)
    assert _supplier(staff_app, "numilog")["config"]["encrypt"] is False


def test_oidc_client_secret_shown_once_and_rotated_with_a_grace_period(staff_app, monkeypatch):
    from datetime import timedelta

    from broker import clock
    from broker.providers.oidc.clients import find_client

    client = as_staff(staff_app, staff_app.test_client(), ADMIN)
    form = {"name": "Lecture+", "slug": "lectureplus", "networks-shown": "1", "networks": "calvados",
            "release": ["library"], "settings.redirect_uris": "https://lecture.example.org/cb\nhttps://lecture.example.org/cb2"}
    r = post(client, "/staff/suppliers/new?protocol=oidc", {**form, "settings.redirect_uris": "http://lecture.example.org/cb"},
             page="/staff/suppliers/new?protocol=oidc")
    assert r.status_code == 400 and 'id="s-redirect_uris-error"' in r.get_data(as_text=True)
    r = post(client, "/staff/suppliers/new?protocol=oidc", form, page="/staff/suppliers/new?protocol=oidc")
    assert r.status_code == 201 and r.headers["Cache-Control"] == "no-store"
    page = r.get_data(as_text=True)
    first = page.split('id="client-secret">')[1].split("<")[0]
    assert len(first) > 30
    assert first not in client.get("/staff/suppliers/lectureplus").get_data(as_text=True)
    row = _supplier(staff_app, "lectureplus")
    assert row["config"]["oidc"]["redirect_uris"] == ["https://lecture.example.org/cb", "https://lecture.example.org/cb2"]
    runtime = staff_app.extensions["broker"]
    r = post(client, "/staff/suppliers/lectureplus/rotate", {"grace_days": "abc"}, page="/staff/suppliers/lectureplus")
    assert r.status_code == 400 and 'id="grace_days-error"' in r.get_data(as_text=True)
    r = post(client, "/staff/suppliers/lectureplus/rotate", {"grace_days": "7"}, page="/staff/suppliers/lectureplus")
    second = r.get_data(as_text=True).split('id="client-secret">')[1].split("<")[0]
    assert second != first
    oidc = find_client(runtime, row["client_id"])
    assert oidc.check_client_secret(first) and oidc.check_client_secret(second)
    later = clock.utcnow() + timedelta(days=8)
    monkeypatch.setattr(clock, "utcnow", lambda: later)
    assert not oidc.check_client_secret(first) and oidc.check_client_secret(second)
    rotate = audit_rows(staff_app, action="supplier.oidc.rotate")[-1]
    assert rotate[0] == ADMIN[0] and first not in str(rotate) and second not in str(rotate)


def test_cas_patterns_are_tested_on_the_page_and_broad_ones_refused(staff_app):
    client = as_staff(staff_app, staff_app.test_client(), ADMIN)
    form = {"name": "Toutapprendre", "slug": "toutapprendre", "networks-shown": "1", "networks": "calvados",
            "settings.service_patterns": r"^https://www\.toutapprendre\.example\.org/.*$"}
    page_url = "/staff/suppliers/new?protocol=cas"
    count = _count(staff_app)
    r = post(client, page_url, {**form, "action": "test", "test_url": "https://www.toutapprendre.example.org/login"},
             page=page_url)
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and 'data-match="yes"' in page and _count(staff_app) == count
    r = post(client, page_url, {**form, "action": "test",
                                "test_url": "https://www.toutapprendre.example.org.attacker.example/"}, page=page_url)
    assert 'data-match="no"' in r.get_data(as_text=True)
    for bad in (".*", "https://(", r"^https://www\.toutapprendre\.example\.org.*$"):
        r = post(client, page_url, {**form, "settings.service_patterns": bad}, page=page_url)
        assert r.status_code == 400 and 'id="s-service_patterns-error"' in r.get_data(as_text=True), bad
    assert _count(staff_app) == count
    r = post(client, page_url, form, page=page_url)
    assert r.status_code == 303
    r = post(client, "/staff/suppliers/toutapprendre/settings",
             {"name": "Toutapprendre", "settings.service_patterns": "https://.*"}, page="/staff/suppliers/toutapprendre")
    assert r.status_code == 400
    assert _supplier(staff_app, "toutapprendre")["config"]["cas"]["service_patterns"] == [form["settings.service_patterns"]]


def test_signed_link_supplier_keeps_its_secret_when_left_empty(staff_app):
    client = as_staff(staff_app, staff_app.test_client(), ADMIN)
    page_url = "/staff/suppliers/new?protocol=link"
    form = {"name": "Europresse", "slug": "europresse", "networks-shown": "1", "networks": "calvados",
            "settings.url_template": "https://europresse.example.org/login?u={uid}&t={ts}&s={sig}",
            "settings.secret": "un-secret-partage-assez-long", "settings.algorithm": "hmac-sha256",
            "settings.lifetime": "300"}
    r = post(client, page_url, {**form, "settings.url_template": "https://europresse.example.org/login?u={uid}"},
             page=page_url)
    assert r.status_code == 400 and 'id="s-url_template-error"' in r.get_data(as_text=True)
    r = post(client, page_url, {**form, "settings.secret": "court"}, page=page_url)
    assert r.status_code == 400 and 'id="s-secret-error"' in r.get_data(as_text=True)
    r = post(client, page_url, form, page=page_url)
    assert r.status_code == 303, r.get_data(as_text=True)[:3000]
    stored = _supplier(staff_app, "europresse")["config"]["link"]
    assert "un-secret-partage" not in str(stored)
    r = post(client, "/staff/suppliers/europresse/settings",
             {"name": "Europresse", "settings.url_template": "https://europresse.example.org/sso?u={uid}&t={ts}&s={sig}",
              "settings.secret": "", "settings.lifetime": "600", "settings.algorithm": "hmac-sha256"},
             page="/staff/suppliers/europresse")
    assert r.status_code == 303, r.get_data(as_text=True)[:3000]
    after = _supplier(staff_app, "europresse")["config"]["link"]
    assert after["lifetime"] == 600 and after["url_template"].startswith("https://europresse.example.org/sso")
    runtime = staff_app.extensions["broker"]
    assert runtime.keys.decrypt(after["secret_encrypted"].encode()) == b"un-secret-partage-assez-long"
    assert "un-secret-partage" not in str(audit_rows(staff_app))


def test_bundle_release_preview_and_disable(staff_app):
    client = as_staff(staff_app, staff_app.test_client(), ADMIN)
    page = client.get("/staff/suppliers/cafeyn").get_data(as_text=True)
    assert 'name="networks"' in page and "La Boîte numérique" in page
    # the admin's choice for their network; Caen la mer's stays
    r = post(client, "/staff/suppliers/cafeyn/settings", {"name": "Cafeyn", "networks-shown": "1"},
             page="/staff/suppliers/cafeyn")
    assert r.status_code == 303 and _supplier(staff_app, "cafeyn")["networks"] == ["caen-la-mer"]
    assert client.get("/staff/suppliers/cafeyn").status_code == 403
    r = post(as_staff(staff_app, staff_app.test_client(), CAEN_ADMIN), "/staff/suppliers/cafeyn/settings",
             {"name": "Cafeyn", "networks-shown": "1"}, page="/staff/suppliers/cafeyn")
    assert r.status_code == 400 and 'id="networks-error"' in r.get_data(as_text=True)
    assert _supplier(staff_app, "cafeyn")["networks"] == ["caen-la-mer"]

    membership = active_membership(staff_app, VIRE_LIB)
    r = post(client, "/staff/suppliers/skilleos/release", {"release": ["library", "email", "colour"]},
             page="/staff/suppliers/skilleos")
    assert r.status_code == 400 and 'id="release-error"' in r.get_data(as_text=True)
    r = post(client, "/staff/suppliers/skilleos/release", {"release": ["library", "age_bracket"]},
             page="/staff/suppliers/skilleos")
    assert r.status_code == 303 and _supplier(staff_app, "skilleos")["release"] == ["library", "age_bracket"]
    page = client.get(f"/staff/suppliers/skilleos?membership={membership}").get_data(as_text=True)
    assert 'data-granted="yes"' in page and VIRE_LIB in page and "eduPersonEntitlement" in page
    assert audit_rows(staff_app, action="supplier.preview")[-1][4] == {"membership": membership}
    page = client.get("/staff/suppliers/skilleos?membership=999999").get_data(as_text=True)
    assert 'id="membership-error"' in page

    r = post(client, "/staff/suppliers/skilleos/enabled", {"enabled": "0"}, page="/staff/suppliers/skilleos")
    assert r.status_code == 303 and _supplier(staff_app, "skilleos")["enabled"] is False
    assert audit_rows(staff_app, action="supplier.disable")[-1][4] == {"before": {"enabled": True},
                                                                       "after": {"enabled": False}}
    assert "Désactivé" in client.get("/staff/suppliers").get_data(as_text=True)
    go = staff_app.test_client().get("/go/skilleos")
    assert go.status_code == 403 and 'data-reason="supplier_disabled"' in go.get_data(as_text=True)
    post(client, "/staff/suppliers/skilleos/enabled", {"enabled": "1"}, page="/staff/suppliers/skilleos")
    assert _supplier(staff_app, "skilleos")["enabled"] is True


@pytest.mark.parametrize("path, data", [
    ("/staff/suppliers/new?protocol=cas", {"slug": "x", "name": "X", "networks-shown": "1", "networks": "calvados",
                                           "settings.service_patterns": "^https://x\\.example\\.org/.*$"}),
    ("/staff/suppliers/cafeyn/settings", {"name": "Pris"}),
    ("/staff/suppliers/cafeyn/enabled", {"enabled": "0"}),
    ("/staff/suppliers/cafeyn/release", {"release": ["email"]}),
])
def test_referents_get_403_audited_as_denied(staff_app, path, data):
    count = _count(staff_app)
    client = as_staff(staff_app, staff_app.test_client(), REFERENT)
    assert post(client, path, data).status_code == 403
    assert client.get("/staff/suppliers/cafeyn").status_code == 403
    assert any(e[0] == REFERENT[0] for e in audit_rows(staff_app, outcome="denied"))
    assert _supplier(staff_app, "cafeyn")["enabled"] is True and _count(staff_app) == count


def test_an_admin_of_another_network_cannot_touch_a_supplier_it_does_not_offer(staff_app):
    client = as_staff(staff_app, staff_app.test_client(), CAEN_ADMIN)
    assert client.get("/staff/suppliers/vodeclic").status_code == 403
    assert post(client, "/staff/suppliers/vodeclic/enabled", {"enabled": "0"}).status_code == 403
    assert _supplier(staff_app, "vodeclic")["enabled"] is True
    denied = {(e[0], e[1]) for e in audit_rows(staff_app, outcome="denied")}
    assert (CAEN_ADMIN[0], "supplier.edit") in denied
    r = post(client, "/staff/suppliers/new?protocol=cas",
             {"slug": "x", "name": "X", "networks-shown": "1", "networks": "calvados",
              "settings.service_patterns": "^https://x\\.example\\.org/.*$"}, page="/staff/suppliers/new?protocol=cas")
    assert r.status_code == 400 and 'id="networks-error"' in r.get_data(as_text=True)


@pytest.mark.parametrize("protocol, data, field_id", [
    ("saml", {"settings.metadata_url": "https://meta.example.org/sp.xml"}, "s-metadata_cert"),
    ("saml", {"settings.metadata_url": "http://meta.example.org/sp.xml",
              "settings.metadata_cert": "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----"}, "s-metadata_url"),
    ("saml", {}, "s-metadata"),
    ("oidc", {"settings.redirect_uris": ""}, "s-redirect_uris"),
    ("oidc", {"settings.redirect_uris": "https://rp.example.org/cb#frag"}, "s-redirect_uris"),
    ("cas", {"settings.service_patterns": r"^https://x\.example\.org/.*$", "slug": "Pas Bon"}, "slug"),
    ("cas", {"settings.service_patterns": r"^https://x\.example\.org/.*$", "category": "sport"}, "category"),
    ("cas", {"settings.service_patterns": r"^https://x\.example\.org/.*$", "login_url": "ftp://x"}, "login_url"),
    ("cas", {"settings.service_patterns": r"^https://x\.example\.org/.*$", "networks": ""}, "networks"),
    ("link", {"settings.url_template": "https://l.example.org/?u={uid}&s={sig}", "settings.secret": "x" * 20,
              "settings.lifetime": "beaucoup"}, "s-lifetime"),
    ("link", {"settings.url_template": "https://l.example.org/?u={uid}&s={sig}", "settings.secret": "x" * 20,
              "settings.algorithm": "md5-concat"}, "s-algorithm"),
    ("link", {"settings.url_template": "https://l.example.org/?u={uid}", "settings.secret": "x" * 20},
     "s-url_template"),
])
def test_each_add_form_shows_the_error_beside_its_field_and_writes_nothing(staff_app, protocol, data, field_id):
    client = as_staff(staff_app, staff_app.test_client(), ADMIN)
    count = _count(staff_app)
    page_url = f"/staff/suppliers/new?protocol={protocol}"
    form = {"name": "Nouveau", "slug": "nouveau", "networks-shown": "1", "networks": "calvados", **data}
    r = post(client, page_url, form, page=page_url)
    page = r.get_data(as_text=True)
    assert r.status_code == 400 and f'id="{field_id}-error"' in page, page[page.find("<main"):][:3000]
    assert "Le fournisseur n'a pas été ajouté" in page
    assert _count(staff_app) == count and not audit_rows(staff_app, action="supplier.add", actor=ADMIN[0])


def test_the_pages_speak_english_too(staff_app):
    client = as_staff(staff_app, staff_app.test_client(), ADMIN)
    english = {"Accept-Language": "en"}
    page = client.get("/staff/suppliers", headers=english).get_data(as_text=True)
    assert "Add a supplier" in page and "Protocol" in page
    page = client.get("/staff/suppliers/new?protocol=cas", headers=english).get_data(as_text=True)
    assert "Service URL patterns" in page and "Test the patterns" in page
    page = client.get("/staff/suppliers/skilleos", headers=english).get_data(as_text=True)
    assert "Released attributes" in page and "Preview for a patron" in page and "Disable the supplier" in page
