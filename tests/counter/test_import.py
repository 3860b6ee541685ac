"""``broker stats import-counter``: COUNTER tabular R5.0 / R5.1 platform reports and the simple CSV."""

from __future__ import annotations

import pytest
from test_harvest import _stored

from fixtures import stats as statskit

R51_HEADER = """Report_Name\tPlatform Report
Report_ID\tPR
Release\t5.1
Institution_Name\tRéseau des médiathèques
Institution_ID\tProprietary:demo:NET-1
Metric_Types\tSearches_Platform; Total_Item_Requests; Unique_Item_Requests; Unique_Title_Requests
Report_Filters\tAccess_Method=Regular
Report_Attributes\tAttributes_To_Show=Data_Type|Access_Method
Exceptions\t
Reporting_Period\tBegin_Date=2026-10-01; End_Date=2026-11-30
Created\t2026-12-02T09:11:12Z
Created_By\tDemo Platform
Registry_Record\thttps://registry.countermetrics.org/platform/0000
\t
"""
R51_BODY = """Platform\tData_Type\tAccess_Method\tMetric_Type\tReporting_Period_Total\tOct-2026\tNov-2026
DemoPlatform\tBook\tRegular\tTotal_Item_Requests\t50\t20\t30
DemoPlatform\tBook\tRegular\tUnique_Item_Requests\t21\t9\t12
DemoPlatform\tBook\tTDM\tTotal_Item_Requests\t500\t200\t300
DemoPlatform\tPlatform\tRegular\tSearches_Platform\t7\t3\t4
"""
R50 = """Report_Name,Platform Master Report
Report_ID,PR
Release,5
Institution_Name,Réseau des médiathèques
Institution_ID,Proprietary:demo:NET-1
Metric_Types,Total_Item_Requests; Unique_Title_Requests
Report_Filters,Access_Method=Regular
Report_Attributes,Attributes_To_Show=Data_Type|Access_Method
Exceptions,
Reporting_Period,Begin_Date=2026-11-01; End_Date=2026-11-30
Created,2026-12-02
Created_By,Demo Platform
,
Platform,Data_Type,Access_Method,Metric_Type,Reporting_Period_Total,Nov-2026
DemoPlatform,Book,Regular,Total_Item_Requests,40,40
DemoPlatform,Book,Regular,Unique_Title_Requests,15,15
"""


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_r51_tsv_is_imported_per_month_without_tdm(stats_cli, tmp_path):
    r = stats_cli("stats", "import-counter", _write(tmp_path, "pr.tsv", R51_HEADER + R51_BODY), "--supplier", "cafeyn",
                  "--json")
    assert r.exit_code == 0, r.output
    stored = _stored("cafeyn")
    assert stored[("cafeyn", "2026-11", "file:network")]["metrics"] == {
        "Total_Item_Requests": 30, "Unique_Item_Requests": 12, "Searches_Platform": 4}
    assert stored[("cafeyn", "2026-10", "file:network")]["metrics"]["Total_Item_Requests"] == 20
    # importing it again changes nothing
    assert stats_cli("stats", "import-counter", str(tmp_path / "pr.tsv"), "--supplier", "cafeyn").exit_code == 0
    assert _stored("cafeyn") == stored


def test_r50_csv_for_one_library(stats_cli, tmp_path):
    r = stats_cli("stats", "import-counter", _write(tmp_path, "pr.csv", R50), "--supplier", "pnb",
                  "--library", statskit.BAYEUX)
    assert r.exit_code == 0, r.output
    stored = _stored("pnb")[("pnb", "2026-11", f"file:{statskit.BAYEUX}")]
    assert stored["metrics"] == {"Total_Item_Requests": 40, "Unique_Title_Requests": 15} and stored["release"] == "5"


def test_simple_csv(stats_cli, tmp_path):
    text = (f"month,library,metric,count\n2026-11,{statskit.VIRE},Total_Item_Requests,12\n"
            "2026-11,network,Searches_Platform,3\n")
    r = stats_cli("stats", "import-counter", _write(tmp_path, "s.csv", text), "--supplier", "cafeyn")
    assert r.exit_code == 0, r.output
    stored = _stored("cafeyn")
    assert stored[("cafeyn", "2026-11", f"file:{statskit.VIRE}")]["metrics"] == {"Total_Item_Requests": 12}
    assert stored[("cafeyn", "2026-11", "file:network")]["metrics"] == {"Searches_Platform": 3}


@pytest.mark.parametrize("text, message", [
    (R51_HEADER + R51_BODY.replace("\t50\t20", "\t51\t20"), "line 16: Reporting_Period_Total"),
    (R51_HEADER + R51_BODY.replace("Unique_Item_Requests\t21\t9", "Unique_Item_Requestz\t21\t9"),
     "line 17: Metric_Type"),
    (R51_HEADER + R51_BODY.replace("\t7\t3\t4", "\t7\t3\tfour"), "line 19: Nov-2026"),
    (R51_HEADER + R51_BODY.replace("Oct-2026", "October"), "line 15: column 'October'"),
    (R51_HEADER.replace("Registry_Record\thttps://registry.countermetrics.org/platform/0000\n", ""), "Registry_Record"),
    (R50.replace("Report_ID,PR", "Report_ID,JR1"), "line 2: Report_ID"),
    (R50.replace("Report_ID,PR", "Report_ID,TR"), "line 14: no Title column"),
    (R50.replace("Release,5", "Release,4"), "line 3: Release"),
    ("month,library,metric,count\n2026-11,FR-1,Total_Item_Requests,1\n2026-13,network,Total_Item_Requests,1\n",
     "line 3: month"),
    ("hello,world\n", "line 1"),
])
def test_a_file_that_does_not_parse_imports_nothing(stats_cli, tmp_path, text, message):
    r = stats_cli("stats", "import-counter", _write(tmp_path, "bad.tsv", text), "--supplier", "cafeyn")
    assert r.exit_code == 2, r.output
    assert message in r.output and "nothing imported" in r.output
    assert _stored("cafeyn") == {}


def test_unknown_library_in_simple_csv_imports_nothing(stats_cli, tmp_path):
    text = ("month,library,metric,count\n2026-11,network,Total_Item_Requests,1\n"
            "2026-11,FR-000000000,Total_Item_Requests,1\n")
    r = stats_cli("stats", "import-counter", _write(tmp_path, "s.csv", text), "--supplier", "cafeyn")
    assert r.exit_code == 2 and "FR-000000000" in r.output
    assert _stored("cafeyn") == {}


def test_r51_xlsx_with_month_headings_as_dates(stats_cli, tmp_path):
    from datetime import datetime

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for line in R51_HEADER.splitlines():
        sheet.append(line.split("\t"))
    sheet.append(["Platform", "Data_Type", "Access_Method", "Metric_Type", "Reporting_Period_Total",
                  datetime(2026, 10, 1), datetime(2026, 11, 1)])
    sheet.append(["DemoPlatform", "Book", "Regular", "Total_Item_Requests", 50, 20, 30])
    sheet.append(["DemoPlatform", "Book", "Regular", "Unique_Item_Requests", 21, 9, 12])
    path = tmp_path / "pr.xlsx"
    book.save(path)
    r = stats_cli("stats", "import-counter", str(path), "--supplier", "cafeyn")
    assert r.exit_code == 0, r.output
    assert _stored("cafeyn")[("cafeyn", "2026-11", "file:network")]["metrics"] == {
        "Total_Item_Requests": 30, "Unique_Item_Requests": 12}
    path.write_bytes(b"PK\x03\x04 not really a workbook")
    r = stats_cli("stats", "import-counter", str(path), "--supplier", "pnb")
    assert r.exit_code == 2 and "nothing imported" in r.output
