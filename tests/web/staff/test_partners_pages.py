"""Partners and agreements pages: admins of the network only, the CLI's checks beside each field, audited."""

from __future__ import annotations

from datetime import date, timedelta

from broker.clock import today
from fixtures.staff import ADMIN, CAEN_ADMIN, REFERENT, as_staff, audit_rows, post


def _agreements(app, slug):
    from broker.services import partners

    rt = app.extensions["broker"]
    with rt.db.session() as s:
        p = partners.load_partner(s, slug)
        return [(a.id, a.start, a.end, str(a.rate.normalize())) for a in sorted(p.agreements, key=lambda a: a.start)]


def test_admin_lists_adds_and_edits_partners(staff_app):
    client = as_staff(staff_app, staff_app.test_client(), ADMIN)
    page = client.get("/staff/partners").get_data(as_text=True)
    assert "Bayeux Intercom" in page and "Terminée" in page and "Caen la mer" not in page
    r = post(client, "/staff/partners/new", {"slug": "falaise-bis", "name": "Commune nouvelle", "kind": "commune",
                                             "population": "1200", "network": "calvados", "start": "2026-01-01",
                                             "end": "2026-12-31", "rate": "0,15"}, page="/staff/partners/new")
    assert r.status_code == 303, r.get_data(as_text=True)
    assert _agreements(staff_app, "falaise-bis")[0][1:] == (date(2026, 1, 1), date(2026, 12, 31), "0.15")
    r = post(client, "/staff/partners/falaise-bis", {"name": "Commune nouvelle de Falaise", "kind": "commune",
                                                     "population": "1250", "population_year": "2026"})
    assert r.status_code == 303
    edits = audit_rows(staff_app, action="partner.edit")
    assert edits[-1][0] == ADMIN[0] and edits[-1][2] == "falaise-bis"
    assert edits[-1][4]["before"] == {"name": "Commune nouvelle", "population": 1200}
    assert edits[-1][4]["after"] == {"name": "Commune nouvelle de Falaise", "population": 1250}


def test_bad_input_is_shown_beside_the_field_and_nothing_is_written(staff_app):
    client = as_staff(staff_app, staff_app.test_client(), ADMIN)
    before = _agreements(staff_app, "bayeux-intercom")
    cases = [
        ("/staff/partners/bayeux-intercom", {"name": "X", "kind": "epci", "population": "-3", "population_year": "2026"},
         "edit-population-error", "La population ne peut pas être négative."),
        ("/staff/partners/bayeux-intercom", {"name": "X", "kind": "epci", "population": "12.5", "population_year": "2026"},
         "edit-population-error", "La population doit être un nombre entier."),
        ("/staff/partners/bayeux-intercom/agreements", {"start": "2031-01-01", "end": "2030-01-01"},
         "new-end-error", "est avant le début"),
        ("/staff/partners/bayeux-intercom/agreements", {"start": "2029-06-01", "end": "2031-01-01"},
         "new-start-error", "déjà une convention"),
        ("/staff/partners/new", {"slug": "bayeux-intercom", "name": "B", "kind": "epci", "population": "1",
                                 "network": "calvados"}, "slug-error", "déjà pris"),
    ]
    for path, data, error_id, text in cases:
        r = post(client, path, data)
        page = r.get_data(as_text=True)
        assert r.status_code == 400, (path, data)
        assert f'id="{error_id}"' in page and text in page, (path, page[page.find("error-text") - 300:][:800])
        assert 'aria-invalid="true"' in page
    assert _agreements(staff_app, "bayeux-intercom") == before
    assert [e for e in audit_rows(staff_app) if e[2] == "bayeux-intercom" and e[0] == ADMIN[0]] == []


def test_amendment_keeps_history_and_end_is_never_in_the_past(staff_app):
    client = as_staff(staff_app, staff_app.test_client(), ADMIN)
    (aid, start, end, rate), = _agreements(staff_app, "lisieux")
    r = post(client, f"/staff/partners/lisieux/agreements/{aid}/amend",
             {"end": "2031-12-31", "rate": "0.16", "note": "avenant n° 1"})
    assert r.status_code == 303
    assert _agreements(staff_app, "lisieux") == [(aid, start, date(2031, 12, 31), "0.16")]
    page = client.get("/staff/partners/lisieux").get_data(as_text=True)
    assert "Avenant" in page and "avenant n° 1" in page and "Signature" in page
    past = (today() - timedelta(days=1)).isoformat()
    r = post(client, f"/staff/partners/lisieux/agreements/{aid}/end", {"end": past})
    assert r.status_code == 400 and f'id="end-{aid}-end-error"' in r.get_data(as_text=True)
    later = (today() + timedelta(days=10)).isoformat()
    r = post(client, f"/staff/partners/lisieux/agreements/{aid}/end", {"end": later, "note": "dénonciation"})
    assert r.status_code == 303
    assert _agreements(staff_app, "lisieux")[0][2] == today() + timedelta(days=10)
    ended = audit_rows(staff_app, action="agreement.end")[-1]
    assert ended[0] == ADMIN[0] and ended[4]["before"]["end"] == "2031-12-31" and ended[4]["after"]["end"] == later


def test_referents_and_other_networks_admins_are_refused_and_audited(staff_app):
    referent = as_staff(staff_app, staff_app.test_client(), REFERENT)
    for path in ("/staff/partners", "/staff/partners/new", "/staff/partners/lisieux"):
        assert referent.get(path).status_code == 403, path
    assert post(referent, "/staff/partners/lisieux", {"name": "X"}).status_code == 403
    other = as_staff(staff_app, staff_app.test_client(), CAEN_ADMIN)
    assert other.get("/staff/partners/lisieux").status_code == 403
    assert post(other, "/staff/partners/lisieux", {"name": "Pris"}).status_code == 403
    aid = _agreements(staff_app, "lisieux")[0][0]
    assert post(other, f"/staff/partners/lisieux/agreements/{aid}/end", {"end": "2030-01-01"}).status_code == 403
    assert "Ville de Lisieux" not in other.get("/staff/partners").get_data(as_text=True)
    denied = [e for e in audit_rows(staff_app, outcome="denied")]
    assert {(e[0], e[1]) for e in denied} >= {(REFERENT[0], "partner.list"), (CAEN_ADMIN[0], "partner.edit"),
                                               (CAEN_ADMIN[0], "agreement.end"), (CAEN_ADMIN[0], "partner.view")}


def test_agreement_ending_soon_is_flagged_and_admins_are_mailed_once(staff_app):
    from broker.services import partners

    rt = staff_app.extensions["broker"]
    soon = today() + timedelta(days=30)
    with rt.db.session() as s:
        p = partners.load_partner(s, "honfleur-culture")
        partners.end_agreement(rt, s, p, p.agreements[0], actor="test", on=soon)
    client = as_staff(staff_app, staff_app.test_client(), ADMIN)
    page = client.get("/staff/").get_data(as_text=True)
    assert "EPIC Honfleur Culture" in page and "prend fin dans moins de deux mois" in page
    client.get("/staff/")
    mails = [m for m in staff_app.smtp.messages if "Honfleur" in m["Subject"]]
    assert [m["To"] for m in mails] == [ADMIN[0]]
    assert "Caen" not in page
    notices = audit_rows(staff_app, action="agreement.notice")
    assert len(notices) == 1 and notices[0][4]["recipients"] == [ADMIN[0]]
    referent = as_staff(staff_app, staff_app.test_client(), REFERENT)
    assert "prend fin" not in referent.get("/staff/").get_data(as_text=True)


def test_fees_page_and_downloads_say_the_pro_rata(staff_app):
    import csv
    import io

    from openpyxl import load_workbook

    from broker.services import network

    rt = staff_app.extensions["broker"]
    with rt.db.session() as s:
        network.add_partner(rt, s, "mid-year", name="Commune mi-année", kind="commune", population="6452",
                            network="calvados", agreement="2025-07-01:2027-06-30", actor="test")
    client = as_staff(staff_app, staff_app.test_client(), ADMIN)
    page = client.get("/staff/fees?year=2025").get_data(as_text=True)
    assert "Commune mi-année" in page and "184 / 365 (prorata)" in page and "487,88 €" in page
    assert "Commune de Condé-en-Normandie" in page and "967,80 €" in page
    assert "Caen la mer" not in page  # another network's partner
    r = client.get("/staff/fees.csv?year=2025")
    assert r.status_code == 200 and r.headers["Content-Disposition"].endswith('participations-2025.csv"')
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    mid = next(row for row in rows if row[0] == "mid-year")
    assert mid[4:] == ["6452", "0.15", "184", "365", "487.88"]
    cli_total = sum(line.fee for line in network.fees_for_year(rt.db.session().__enter__(), 2025, "calvados"))
    assert rows[-1][1] == "Total 2025" and rows[-1][-1] == f"{cli_total:.2f}"
    r = client.get("/staff/fees.xlsx?year=2025")
    sheet = load_workbook(io.BytesIO(r.data)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][-1] == "Participation (€)"
    assert next(v for v in values if v[0] == "mid-year")[-1] == 487.88
    assert client.get("/staff/fees?year=abc").status_code == 400
    referent = as_staff(staff_app, staff_app.test_client(), REFERENT)
    assert referent.get("/staff/fees").status_code == 403
    assert referent.get("/staff/fees.csv?year=2025").status_code == 403
    assert ("referent@bayeux.example.org", "fees.export") in {(e[0], e[1]) for e in audit_rows(staff_app, outcome="denied")}


def test_admin_pages_have_accessible_structure_in_both_languages(staff_app):
    import re

    client = as_staff(staff_app, staff_app.test_client(), ADMIN)
    pages = ["/staff/partners", "/staff/partners/new", "/staff/partners/lisieux", "/staff/fees?year=2025",
             "/staff/accounts", "/staff/pending"]
    for lang, word in (("fr", "Partenaires"), ("en", "Partners")):
        for path in pages:
            sep = "&" if "?" in path else "?"
            r = client.get(f"{path}{sep}lang={lang}")
            page = r.get_data(as_text=True)
            assert r.status_code == 200, path
            assert f'<html lang="{lang}">' in page and page.count("<h1") == 1, path
            assert word in page, (path, lang)
            assert r.headers["Cache-Control"] == "no-store"
            for input_id in re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', page):
                assert f'for="{input_id}"' in page, f"{path}: #{input_id} has no label"
            for table in re.findall(r"<table.*?</table>", page, flags=re.S):
                assert "<caption" in table and 'scope="col"' in table, path
    english = client.get("/staff/partners/lisieux?lang=en").get_data(as_text=True)
    assert "Record an amendment" in english and "Legal population" in english


def test_an_ended_agreement_closes_access_after_its_end_date_never_before(staff_app):
    from broker.services import libraries, network, partners
    from fixtures.staff import VIRE_LIB

    rt = staff_app.extensions["broker"]
    cache = rt.libraries
    with rt.db.session() as s:
        lib_id = libraries.get_library(s, VIRE_LIB).id
    assert libraries.facts(cache.by_id(lib_id), rt.clock.today()).partner_active
    client = as_staff(staff_app, staff_app.test_client(), ADMIN)
    (aid, *_), = _agreements(staff_app, "vire-normandie")
    r = post(client, f"/staff/partners/vire-normandie/agreements/{aid}/end", {"end": today().isoformat()})
    assert r.status_code == 303
    cached = cache.by_id(lib_id)  # the library cache sees the new end at once
    assert [a.end for a in cached.partner.agreements] == [today()]
    assert libraries.facts(cached, rt.clock.today()).partner_active  # still open today, the last day
    assert not network.partner_active(cached.partner, today() + timedelta(days=1))
    with rt.db.session() as s:
        assert partners.state_of(partners.load_partner(s, "vire-normandie"), today() + timedelta(days=1)).state == "ended"
