"""The network admin's supplier pages: SUSHI credentials, the last harvest's error, members, COUNTER files."""

from __future__ import annotations

import io

from sqlalchemy import select

from broker.db.counter_models import CounterReport, SushiAccount, SushiMember
from broker.services.suppliers import get_supplier
from fixtures import stats as statskit
from fixtures.staff import csrf

PAGE = "/staff/suppliers/cafeyn"


def _admin(stats_app):
    client = stats_app.test_client()
    statskit.as_staff(stats_app, client, statskit.ADMIN)
    return client


def test_admin_enters_credentials_and_sees_the_last_error(stats_app):
    client = _admin(stats_app)
    r = client.get("/staff/suppliers")
    assert r.status_code == 200 and "Cafeyn" in r.get_data(as_text=True)
    token = csrf(client, PAGE)
    r = client.post(f"{PAGE}/sushi", data={"csrf_token": token, "url": "nope", "customer_id": "NET-1",
                                            "release": "5.1"})
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert "Adresse invalide" in html and 'aria-invalid="true"' in html
    r = client.post(f"{PAGE}/sushi", data={"csrf_token": token, "url": "https://sushi.example.org/r51",
                                            "customer_id": "NET-1", "api_key": "pa55-key", "release": "5.1"})
    assert r.status_code == 303
    runtime = stats_app.extensions["broker"]
    with runtime.db.session() as s:
        account = s.scalar(select(SushiAccount))
        assert account.url == "https://sushi.example.org/r51" and account.api_key_encrypted
        account.last_status, account.last_error = "credentials", "COUNTER exception 2020: APIKey Invalid [HTTP 401]"
    html = client.get(PAGE).get_data(as_text=True)
    assert "Identifiants refusés" in html and "APIKey Invalid" in html
    assert "pa55-key" not in html and "une clé est enregistrée" in html
    # without the CSRF token: refused, nothing changed
    r = client.post(f"{PAGE}/sushi", data={"url": "https://other.example.org", "customer_id": "X", "release": "5"})
    assert r.status_code == 400
    with runtime.db.session() as s:
        assert s.scalar(select(SushiAccount.customer_id)) == "NET-1"


def test_referent_gets_403(stats_app):
    client = stats_app.test_client()
    statskit.as_staff(stats_app, client, statskit.REFERENT)
    assert client.get(PAGE).status_code == 403
    assert client.get("/staff/suppliers").status_code == 403


def test_admin_maps_a_member(stats_app):
    client = _admin(stats_app)
    runtime = stats_app.extensions["broker"]
    known = statskit.ids(stats_app)
    token = csrf(client, PAGE)
    client.post(f"{PAGE}/sushi", data={"csrf_token": token, "url": "https://sushi.example.org/r51",
                                       "customer_id": "NET-1", "release": "5.1"})
    with runtime.db.session() as s:
        s.add(SushiMember(supplier_id=get_supplier(s, "cafeyn").id, customer_id="M-7L", name="Les 7 Lieux",
                          suggested_library_id=known["library"][statskit.BAYEUX]))
    html = client.get(PAGE).get_data(as_text=True)
    assert "(suggérée)" in html and "Confirmer" in html
    r = client.post(f"{PAGE}/members", data={"csrf_token": token, "customer_id": "M-7L",
                                             "library": "FR-000000000"})
    assert r.status_code == 400 and "Choisissez une bibliothèque" in r.get_data(as_text=True)
    r = client.post(f"{PAGE}/members", data={"csrf_token": token, "customer_id": "M-7L",
                                             "library": statskit.BAYEUX})
    assert r.status_code == 303
    with runtime.db.session() as s:
        assert s.scalar(select(SushiMember.library_id)) == known["library"][statskit.BAYEUX]


def test_admin_uploads_a_counter_file(stats_app):
    client = _admin(stats_app)
    token = csrf(client, PAGE)
    bad = b"month,library,metric,count\n2026-11,network,Total_Item_Requests,many\n"
    r = client.post(f"{PAGE}/import", data={"csrf_token": token, "library": "",
                                            "file": (io.BytesIO(bad), "usage.csv")},
                    content_type="multipart/form-data")
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert "rien n&#39;a été importé" in html and "line 2" in html
    good = b"month,library,metric,count\n2026-11,network,Total_Item_Requests,12\n"
    r = client.post(f"{PAGE}/import", data={"csrf_token": token, "library": "",
                                            "file": (io.BytesIO(good), "usage.csv")},
                    content_type="multipart/form-data")
    assert r.status_code == 303
    runtime = stats_app.extensions["broker"]
    with runtime.db.session() as s:
        assert s.scalar(select(CounterReport.customer_id)) == "file:network"
    assert "2026-11" in client.get(PAGE).get_data(as_text=True)
