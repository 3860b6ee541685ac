"""CSV export of a library's members and counts by state: escaped, formula-safe, audited."""

from __future__ import annotations

import csv
import io
from datetime import UTC

from broker.web.staff.exports import cell
from fixtures.staff import BAYEUX, REFERENT, VIRE, VIRE_LIB, add_pending, as_staff, audit_rows


def test_cell_neutralises_formulas():
    for raw in ("=1+1", "+33 6", "-2", "@SUM(A1)", "\tx", "\rx", '=HYPERLINK("http://evil","x")'):
        assert cell(raw) == "'" + raw
    assert cell("Élodie") == "Élodie" and cell(None) == "" and cell(1990) == "1990"


def test_export_members_csv(staff_app, staff_client):
    add_pending(staff_app, "V8001", '=HYPERLINK("http://evil.example","clic")', "-2+3@example.org")
    add_pending(staff_app, "V8002", "<script>alert(1)</script>", "x@example.org")
    as_staff(staff_app, staff_client, VIRE)
    r = staff_client.get(f"/staff/libraries/{VIRE_LIB}/members.csv?csv=en")
    assert r.status_code == 200
    assert r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"] and VIRE_LIB in r.headers["Content-Disposition"]
    text = r.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    by_hint = {row["card_hint"]: row for row in rows}
    assert set(by_hint) >= {"0001", "0002", "8001", "8002"}
    assert by_hint["8001"]["name"].startswith("'=HYPERLINK")
    assert by_hint["8001"]["email"] == "'-2+3@example.org"
    assert by_hint["8002"]["name"] == "<script>alert(1)</script>"  # CSV is data: kept as typed, never run
    assert by_hint["0001"]["state"] == "active" and by_hint["8001"]["state"] == "pending"
    assert "29001" not in text  # nothing of other libraries
    export = audit_rows(staff_app, action="members.export")
    assert export and export[-1][0] == VIRE[0] and export[-1][4]["count"] == len(rows)


def test_export_members_csv_in_the_french_convention(staff_app, staff_client):
    from datetime import date, datetime

    from broker.db.models import Membership
    from fixtures.staff import membership_id

    add_pending(staff_app, "V8001", '=HYPERLINK("http://evil.example","clic")', "-2+3@example.org")
    runtime = staff_app.extensions["broker"]
    with runtime.db.session() as s:
        # 1 January 2027 in Paris
        membership = s.get(Membership, membership_id(staff_app, VIRE_LIB, "V0001"))
        membership.created_at = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
        membership.patron.card_expires = date(2030, 12, 31)
    as_staff(staff_app, staff_client, VIRE)
    r = staff_client.get(f"/staff/libraries/{VIRE_LIB}/members.csv?lang=fr")
    assert r.status_code == 200 and "membres-" in r.headers["Content-Disposition"]
    text = r.get_data(as_text=True)
    assert text.startswith("\ufeff") and text.endswith("\r\n")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert list(rows[0]) == ["Inscription", "Carte (fin du numéro)", "Nom", "E-mail", "Année de naissance",
                             "Catégorie", "Carte valable jusqu'au", "État", "Inscrit le", "Modifié le"]
    by_hint = {row["Carte (fin du numéro)"]: row for row in rows}
    assert by_hint["0001"]["État"] == "Active" and by_hint["8001"]["État"] == "En attente"
    assert by_hint["8001"]["Nom"].startswith("'=HYPERLINK") and by_hint["8001"]["E-mail"] == "'-2+3@example.org"
    assert by_hint["0001"]["Carte valable jusqu'au"] == "31/12/2030"
    assert by_hint["0001"]["Inscrit le"] == "01/01/2027 00:30"
    english = staff_client.get(f"/staff/libraries/{VIRE_LIB}/members.csv?lang=en").get_data(as_text=True)
    assert english.lstrip("\ufeff").startswith("membership,card_hint,")
    assert staff_client.get(f"/staff/libraries/{VIRE_LIB}/members.csv?csv=semicolons").status_code == 400


def test_counts_by_state_on_the_library_page(staff_app, staff_client):
    as_staff(staff_app, staff_client, REFERENT)
    page = staff_client.get(f"/staff/libraries/{BAYEUX}/").get_data(as_text=True)
    assert "Inscrits par état" in page
    counts = page.split("Inscrits par état")[1].split("</table>")[0]
    for label, n in (("En attente", 1), ("Active", 4), ("Refusée", 1), ("Suspendue", 1), ("Expirée", 1)):
        assert f'<th scope="row">{label}</th><td class="num">{n}</td>' in counts, label
