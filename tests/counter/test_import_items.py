"""``broker stats import-counter`` and the supplier page's upload: tabular COUNTER DR, TR and IR, R5.0 and R5.1.

The sample files follow the code of practice's tabular layout (section 3.3 and the
sample reports of appendix G): the header rows, a blank row, the column headings
of each report, one row per item, attribute combination and metric.
"""

from __future__ import annotations

import io
import re

import pytest
from test_item_harvest import items_stored, reports_stored
from test_titles import MONTH

from fixtures import stats as statskit
from fixtures.staff import csrf


def _header(report_id: str, name: str, release: str = "5.1", attributes: str = "Access_Method", sep: str = "\t",
            begin: str = "2026-10-01", end: str = "2026-11-30") -> str:
    rows = [("Report_Name", name), ("Report_ID", report_id), ("Release", release),
            ("Institution_Name", "Réseau des médiathèques du Calvados"), ("Institution_ID", "Proprietary:demo:NET-1"),
            ("Metric_Types", ""), ("Report_Filters", ""), ("Report_Attributes", f"Attributes_To_Show={attributes}"),
            ("Exceptions", ""), ("Reporting_Period", f"Begin_Date={begin}; End_Date={end}"),
            ("Created", "2026-12-02T09:11:12Z"), ("Created_By", "Demo Platform")]
    if release == "5.1":
        rows.append(("Registry_Record", "https://registry.countermetrics.org/platform/0000"))
    return "".join(f"{k}{sep}{v}\n" for k, v in rows) + sep + "\n"


# R5.1 title report (TSV): two years of publication of one title are added up, TDM is left out
TR_51 = _header("TR", "Title Report", attributes="YOP|Access_Type|Access_Method") + "\n".join("\t".join(row) for row in [
    ("Title", "Publisher", "Publisher_ID", "Platform", "DOI", "Proprietary_ID", "ISBN", "Print_ISSN", "Online_ISSN",
     "URI", "Data_Type", "YOP", "Access_Type", "Access_Method", "Metric_Type", "Reporting_Period_Total", "Oct-2026",
     "Nov-2026"),
    ("Le Monde", "Groupe Le Monde", "", "DemoPlatform", "", "DP:LM", "", "0395-2037", "1950-6244", "", "Newspaper_or_Newsletter",
     "2026", "Controlled", "Regular", "Total_Item_Requests", "70", "10", "60"),
    ("Le Monde", "Groupe Le Monde", "", "DemoPlatform", "", "DP:LM", "", "0395-2037", "1950-6244", "", "Newspaper_or_Newsletter",
     "2025", "Controlled", "Regular", "Total_Item_Requests", "35", "5", "30"),
    ("Le Monde", "Groupe Le Monde", "", "DemoPlatform", "", "DP:LM", "", "0395-2037", "1950-6244", "", "Newspaper_or_Newsletter",
     "2026", "Controlled", "Regular", "Unique_Item_Requests", "40", "6", "34"),
    ("Le Monde", "Groupe Le Monde", "", "DemoPlatform", "", "DP:LM", "", "0395-2037", "1950-6244", "", "Newspaper_or_Newsletter",
     "2026", "Controlled", "TDM", "Total_Item_Requests", "900", "400", "500"),
    ("Le Petit Prince", "Gallimard", "", "DemoPlatform", "10.9999/lpp", "DP:LPP", "978-2-07-040850-4", "", "", "",
     "Book", "1999", "Controlled", "Regular", "Total_Item_Requests", "9", "0", "9"),
    ("Le Petit Prince", "Gallimard", "", "DemoPlatform", "10.9999/lpp", "DP:LPP", "978-2-07-040850-4", "", "", "",
     "Book", "1999", "Controlled", "Regular", "No_License", "2", "0", "2"),
]) + "\n"

# R5.0 database report (CSV), for one library
DR_50 = _header("DR", "Database Master Report", release="5", attributes="Data_Type|Access_Method", sep=",",
                begin="2026-11-01") + "\n".join(",".join(row) for row in [
    ("Database", "Publisher", "Publisher_ID", "Platform", "Proprietary_ID", "Data_Type", "Access_Method", "Metric_Type",
     "Reporting_Period_Total", "Nov-2026"),
    ("Europresse", "Cision", "", "Europresse", "EP:FR", "Database", "Regular", "Searches_Regular", "12", "12"),
    ("Europresse", "Cision", "", "Europresse", "EP:FR", "Database", "Regular", "Total_Item_Requests", "30", "30"),
    ("Europresse", "Cision", "", "Europresse", "EP:FR", "Newspaper_or_Newsletter", "Regular", "Total_Item_Requests",
     "8", "8"),
]) + "\n"

# R5.1 item report (XLSX, below): items with their parent title
IR_HEADINGS = ["Item", "Publisher", "Publisher_ID", "Platform", "Authors", "Publication_Date", "Article_Version", "DOI",
               "Proprietary_ID", "ISBN", "Print_ISSN", "Online_ISSN", "URI", "Parent_Title", "Parent_Authors",
               "Parent_Publication_Date", "Parent_Article_Version", "Parent_Data_Type", "Parent_DOI",
               "Parent_Proprietary_ID", "Parent_ISBN", "Parent_Print_ISSN", "Parent_Online_ISSN", "Parent_URI",
               "Data_Type", "YOP", "Access_Type", "Access_Method", "Metric_Type", "Reporting_Period_Total"]


def _ir_row(item, doi, parent, metric, oct_, nov):
    values = dict.fromkeys(IR_HEADINGS, "")
    values.update(Item=item, Publisher="Demo", Platform="DemoPlatform", DOI=doi, Parent_Title=parent,
                  Parent_Data_Type="Newspaper_or_Newsletter" if parent else "", Data_Type="Article", YOP="2026",
                  Access_Type="Controlled", Access_Method="Regular", Metric_Type=metric,
                  Reporting_Period_Total=oct_ + nov)
    return [values[h] for h in IR_HEADINGS] + [oct_, nov]


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_r51_title_report_tsv_per_month_without_tdm(stats_cli, tmp_path):
    r = stats_cli("stats", "import-counter", _write(tmp_path, "tr.tsv", TR_51), "--supplier", "cafeyn", "--json")
    assert r.exit_code == 0, r.output
    stored = items_stored("cafeyn", "TR")
    monde = stored[(MONTH, "file:network", "Le Monde")]
    assert (monde["Total_Item_Requests"], monde["Unique_Item_Requests"]) == (90, 34)  # 60 + 30, TDM left out
    assert monde["_ids"] == {"Proprietary": "DP:LM", "Print_ISSN": "0395-2037", "Online_ISSN": "1950-6244"}
    assert monde["_data_types"] == "Newspaper_or_Newsletter"
    assert stored[("2026-10", "file:network", "Le Monde")]["Total_Item_Requests"] == 15
    prince = stored[(MONTH, "file:network", "Le Petit Prince")]
    assert (prince["Total_Item_Requests"], prince["No_License"]) == (9, 2) and prince["_ids"]["DOI"] == "10.9999/lpp"
    assert ("2026-10", "file:network", "Le Petit Prince") not in stored  # no usage that month
    assert reports_stored("cafeyn") == {("TR", "2026-10", "file:network"): "complete",
                                        ("TR", MONTH, "file:network"): "complete"}
    assert '"items": 2' in r.output and '"report": "TR"' in r.output
    # importing it again replaces it, item for item
    assert stats_cli("stats", "import-counter", str(tmp_path / "tr.tsv"), "--supplier", "cafeyn").exit_code == 0
    assert items_stored("cafeyn", "TR") == stored


def test_r50_database_report_csv_for_one_library(stats_cli, tmp_path):
    r = stats_cli("stats", "import-counter", _write(tmp_path, "dr.csv", DR_50), "--supplier", "pnb",
                  "--library", statskit.BAYEUX)
    assert r.exit_code == 0, r.output
    stored = items_stored("pnb", "DR")[(MONTH, f"file:{statskit.BAYEUX}", "Europresse")]
    assert (stored["Searches_Regular"], stored["Total_Item_Requests"]) == (12, 38)
    assert stored["_data_types"] == "Database|Newspaper_or_Newsletter" and stored["_ids"] == {"Proprietary": "EP:FR"}


def test_r51_item_report_xlsx_with_parents(stats_cli, tmp_path):
    from datetime import datetime

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for line in _header("IR", "Item Report").splitlines():
        sheet.append(line.split("\t"))
    sheet.append([*IR_HEADINGS, datetime(2026, 10, 1), datetime(2026, 11, 1)])
    sheet.append(_ir_row("La une du 3 novembre", "10.9999/lm-1103", "Le Monde", "Total_Item_Requests", 0, 7))
    sheet.append(_ir_row("La une du 3 novembre", "10.9999/lm-1103", "Le Monde", "Unique_Item_Requests", 0, 5))
    sheet.append(_ir_row("Un article sans parent", "10.9999/free", "", "Total_Item_Investigations", 3, 4))
    path = tmp_path / "ir.xlsx"
    book.save(path)
    r = stats_cli("stats", "import-counter", str(path), "--supplier", "cafeyn")
    assert r.exit_code == 0, r.output
    stored = items_stored("cafeyn", "IR")
    une = stored[(MONTH, "file:network", "La une du 3 novembre")]
    assert (une["Total_Item_Requests"], une["Unique_Item_Requests"], une["_parent"]) == (7, 5, "Le Monde")
    assert stored[("2026-10", "file:network", "Un article sans parent")]["_parent"] == ""


def test_a_report_without_monthly_details_is_its_reporting_period(stats_cli, tmp_path):
    text = _header("DR", "Database Report", begin="2026-11-01", end="2026-11-30") + (
        "Database\tPublisher\tPlatform\tProprietary_ID\tAccess_Method\tMetric_Type\tReporting_Period_Total\n"
        "Europresse\tCision\tEuropresse\tEP:FR\tRegular\tSearches_Regular\t21\n")
    r = stats_cli("stats", "import-counter", _write(tmp_path, "dr.tsv", text), "--supplier", "cafeyn")
    assert r.exit_code == 0, r.output
    assert items_stored("cafeyn", "DR")[(MONTH, "file:network", "Europresse")]["Searches_Regular"] == 21
    r = stats_cli("stats", "import-counter", _write(tmp_path, "dr2.tsv", text.replace("2026-11-01", "2026-10-01")),
                  "--supplier", "pnb")
    assert r.exit_code == 2 and "line 15: no month column" in r.output


def _tr(old: str, new: str) -> str:
    assert old in TR_51
    return TR_51.replace(old, new, 1)


@pytest.mark.parametrize("text, message", [
    (_tr("\tRegular\tNo_License\t2", "\tRegular\tSearches_Regular\t2"),
     "line 21: Metric_Type 'Searches_Regular' is not a metric of the TR report"),
    (_tr("Le Petit Prince\tGallimard", "\tGallimard"), "line 20: no Title"),
    (_tr("\t70\t10\t60", "\t71\t10\t60"), "line 16: Reporting_Period_Total"),
    (_tr("Unique_Item_Requests\t40\t6\t34", "Unique_Item_Requests\t140\t6\t134"),
     "line 16: Title 'Le Monde', 2026-11: Unique_Item_Requests (134) exceeds Total_Item_Requests (90)"),
    (_tr("Report_ID\tTR", "Report_ID\tTR_J1"), "line 2: Report_ID 'TR_J1' is a standard view"),
    (_tr("Report_ID\tTR", "Report_ID\tBR1"), "line 2: Report_ID 'BR1'"),
    (_tr("Title\tPublisher", "Titre\tPublisher"), "line 15: no Title column"),
    (_tr("\t0\t2\n", "\t0\tdeux\n"), "line 21: Nov-2026"),
    (_header("DR", "Database Report") + "Database\tPlatform\tMetric_Type\tReporting_Period_Total\tNov-2026\n",
     "line 15: no data row"),
])
def test_a_report_that_does_not_parse_imports_nothing(stats_cli, tmp_path, text, message):
    r = stats_cli("stats", "import-counter", _write(tmp_path, "bad.tsv", text), "--supplier", "cafeyn")
    assert r.exit_code == 2, r.output
    assert message in r.output and "nothing imported" in r.output
    assert "Traceback" not in r.output
    assert reports_stored("cafeyn") == {}


def test_imported_titles_reach_the_titles_page_and_a_harvest_wins(stats_app):
    from test_titles import setup_titles

    from broker.db.counter_models import CounterReport
    from broker.services.counter.files import import_file
    from broker.services.suppliers import get_supplier

    setup_titles(stats_app, patrons={statskit.BAYEUX: 1, statskit.VIRE: 2})
    runtime = stats_app.extensions["broker"]
    with runtime.db.session() as s:
        import_file(runtime, s, get_supplier(s, "cafeyn"), TR_51.encode())
    client = stats_app.test_client()
    statskit.as_staff(stats_app, client, statskit.ADMIN)
    html = client.get(f"/staff/stats/libraries/{statskit.VIRE}/titles?month={MONTH}").get_data(as_text=True)
    row = re.search(r'<tr>\s*<th scope="row">Le Monde.*?</tr>', html, re.DOTALL).group(0)
    assert re.findall(r'<td class="num">([^<]*)</td>', row)[0] == "60"  # two thirds of 90
    # a harvested title report of the month replaces the file in the figures
    setup_titles(stats_app, network={"Télérama": {"Total_Item_Requests": 3}})
    with runtime.db.session() as s:
        assert {r.source for r in s.query(CounterReport)} == {"file", "sushi"}
    html = client.get(f"/staff/stats/networks/calvados/titles?month={MONTH}").get_data(as_text=True)
    assert "Télérama" in html and "Le Monde" not in html


def test_the_supplier_page_accepts_a_title_report(stats_app):
    client = stats_app.test_client()
    statskit.as_staff(stats_app, client, statskit.ADMIN)
    page = "/staff/suppliers/cafeyn"
    html = client.get(page).get_data(as_text=True)
    assert "titres (TR)" in html
    token = csrf(client, page)
    r = client.post(f"{page}/import", data={"csrf_token": token, "library": statskit.VIRE,
                                            "file": (io.BytesIO(_tr("\t70\t10\t60", "\t7\t10\t60").encode()),
                                                     "tr.tsv")},
                    content_type="multipart/form-data")
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert "rien n&#39;a été importé" in html and "line 16: Reporting_Period_Total" in html
    r = client.post(f"{page}/import", data={"csrf_token": token, "library": statskit.VIRE,
                                            "file": (io.BytesIO(TR_51.encode()), "tr.tsv")},
                    content_type="multipart/form-data")
    assert r.status_code == 303
    html = client.get(page).get_data(as_text=True)
    assert re.search(r'<th scope="row">2026-11</th><td>TR</td><td>file:FR-147626101</td><td>fichier</td>', html)
