"""Platform reports shaped like the COUNTER code of practice's examples (R5.0 and R5.1 JSON), for the tests."""

from __future__ import annotations

import calendar


def _last_day(month: str) -> str:
    year, mon = map(int, month.split("-"))
    return f"{month}-{calendar.monthrange(year, mon)[1]:02d}"


def pr_51(month: str, customer_id: str, counts: dict[str, dict[str, int]], *, platform: str = "DemoPlatform",
          institution: str = "Réseau des médiathèques", exceptions: list | None = None,
          tdm: dict | None = None) -> dict:
    """R5.1 PR: ``counts`` is ``{Data_Type: {metric: count}}`` for ``month`` (Regular access)."""
    performance = [{"Data_Type": data_type, "Access_Method": "Regular",
                    "Performance": {metric: {month: n} for metric, n in metrics.items()}}
                   for data_type, metrics in counts.items()]
    if tdm:
        performance.append({"Data_Type": "Platform", "Access_Method": "TDM",
                            "Performance": {metric: {month: n} for metric, n in tdm.items()}})
    header = {
        "Report_Name": "Platform Report", "Report_ID": "PR", "Release": "5.1",
        "Institution_Name": institution, "Institution_ID": {"Proprietary": [f"{platform}:{customer_id}"]},
        "Report_Filters": {"Begin_Date": f"{month}-01", "End_Date": _last_day(month),
                           "Access_Method": ["Regular", "TDM"]},
        "Report_Attributes": {"Attributes_To_Show": ["Data_Type", "Access_Method"]},
        "Created": "2026-12-02T09:11:12Z", "Created_By": "Demo Platform SUSHI",
        "Registry_Record": "https://registry.countermetrics.org/platform/00000000-0000-0000-0000-000000000000",
    }
    if exceptions:
        header["Exceptions"] = exceptions
    return {"Report_Header": header, "Report_Items": [{"Platform": platform, "Attribute_Performance": performance}]
            if counts or tdm else []}


def pr_50(month: str, customer_id: str, counts: dict[str, dict[str, int]], *, platform: str = "DemoPlatform",
          institution: str = "Réseau des médiathèques", exceptions: list | None = None) -> dict:
    """R5.0 PR (master report with Data_Type and Access_Method shown)."""
    period = {"Begin_Date": f"{month}-01", "End_Date": _last_day(month)}
    items = [{"Platform": platform, "Data_Type": data_type, "Access_Method": "Regular",
              "Performance": [{"Period": period,
                               "Instance": [{"Metric_Type": m, "Count": n} for m, n in metrics.items()]}]}
             for data_type, metrics in counts.items()]
    return {"Report_Header": _header_50("PR", "Platform Master Report", month, customer_id, platform, institution,
                                        exceptions), "Report_Items": items}


def _header_50(report_id: str, name: str, month: str, customer_id: str, platform: str, institution: str,
               exceptions: list | None) -> dict:
    """An R5.0 master report's header (Data_Type and Access_Method shown)."""
    header = {
        "Created": "2026-12-02T09:11:12Z", "Created_By": "Demo Platform SUSHI", "Customer_ID": customer_id,
        "Report_ID": report_id, "Release": "5", "Report_Name": name, "Institution_Name": institution,
        "Institution_ID": [{"Type": "Proprietary", "Value": f"{platform}:{customer_id}"}],
        "Report_Filters": [{"Name": "Begin_Date", "Value": f"{month}-01"},
                           {"Name": "End_Date", "Value": _last_day(month)}],
        "Report_Attributes": [{"Name": "Attributes_To_Show", "Value": "Data_Type|Access_Method"}],
    }
    if exceptions:
        header["Exceptions"] = exceptions
    return header


def exception(code: int, message: str, data: str = "", *, release: str = "5.1") -> dict:
    body = {"Code": code, "Message": message}
    if release == "5":
        body["Severity"] = "Error"
    if data:
        body["Data"] = data
    return body


#: (code, message, HTTP status) from the code of practice, appendix D
EXCEPTIONS = {
    3000: ("Report Not Supported", 400),
    1011: ("Report Queued for Processing", 202),
    1020: ("Client has made too many requests", 429),
    2010: ("Requestor is Not Authorized to Access Usage for Institution", 403),
    2020: ("APIKey Invalid", 401),
    3030: ("No Usage Available for Requested Dates", 200),
    3031: ("Usage Not Ready for Requested Dates", 200),
    3032: ("Usage No Longer Available for Requested Dates", 200),
}


#: what names an item in each report, in its JSON
NAME_FIELD = {"DR": "Database", "TR": "Title", "IR": "Item"}
REPORT_NAMES = {"DR": "Database Report", "TR": "Title Report", "IR": "Item Report"}


def item_report_51(report_id: str, month: str, customer_id: str, items: list[dict], *, platform: str = "DemoPlatform",
                   institution: str = "Réseau des médiathèques", exceptions: list | None = None) -> dict:
    """R5.1 DR, TR or IR. Each of ``items`` is ``{"name", "ids": {DOI: …}, "counts": {Data_Type: {metric: n}},
    "tdm": {metric: n}, "parent": title}``; an IR groups its items under their parent, as 5.1 does."""
    def entry(spec: dict) -> dict:
        performance = [{"Data_Type": data_type, **({"YOP": "2024", "Access_Type": "Controlled"}
                                                     if report_id != "DR" else {}),
                        "Access_Method": "Regular", "Performance": {m: {month: n} for m, n in metrics.items()}}
                       for data_type, metrics in spec["counts"].items()]
        if spec.get("tdm"):
            performance.append({"Data_Type": next(iter(spec["counts"]), "Book"), "Access_Method": "TDM",
                                "Performance": {m: {month: n} for m, n in spec["tdm"].items()}})
        return {NAME_FIELD[report_id]: spec["name"], "Publisher": spec.get("publisher", "Éditions Démo"),
                "Publisher_ID": {"ISNI": ["0000000000000000"]}, "Platform": platform,
                "Item_ID": spec.get("ids", {}), "Attribute_Performance": performance}

    header = {
        "Report_Name": REPORT_NAMES[report_id], "Report_ID": report_id, "Release": "5.1",
        "Institution_Name": institution, "Institution_ID": {"Proprietary": [f"{platform}:{customer_id}"]},
        "Report_Filters": {"Begin_Date": f"{month}-01", "End_Date": _last_day(month)},
        "Report_Attributes": {"Attributes_To_Show": ["Access_Method"]},
        "Created": "2026-12-02T09:11:12Z", "Created_By": "Demo Platform SUSHI",
    }
    if report_id == "IR":
        header["Report_Attributes"]["Include_Parent_Details"] = "True"
    if exceptions:
        header["Exceptions"] = exceptions
    if report_id != "IR":
        report_items = [entry(spec) for spec in items]
    else:
        parents: dict[str, dict] = {}
        for spec in items:
            parent = parents.setdefault(spec.get("parent", ""), {"Title": spec.get("parent", ""), "Data_Type": "Book",
                                                                 "Item_ID": {}, "Items": []})
            parent["Items"].append(entry(spec))
        report_items = list(parents.values())
    return {"Report_Header": header, "Report_Items": report_items}


def item_report_50(report_id: str, month: str, customer_id: str, items: list[dict], *, platform: str = "DemoPlatform",
                   institution: str = "Réseau des médiathèques", exceptions: list | None = None) -> dict:
    """R5.0 DR, TR or IR (master report with Data_Type and Access_Method shown): one row per data type."""
    period = {"Begin_Date": f"{month}-01", "End_Date": _last_day(month)}
    rows = []
    for spec in items:
        for data_type, metrics in spec["counts"].items():
            row = {NAME_FIELD[report_id]: spec["name"], "Item_ID": [{"Type": k, "Value": v}
                                                                    for k, v in spec.get("ids", {}).items()],
                   "Platform": platform, "Publisher": spec.get("publisher", "Éditions Démo"),
                   "Publisher_ID": [{"Type": "ISNI", "Value": "0000000000000000"}], "Data_Type": data_type,
                   "Access_Method": "Regular",
                   "Performance": [{"Period": period,
                                    "Instance": [{"Metric_Type": m, "Count": n} for m, n in metrics.items()]}]}
            if report_id == "IR" and spec.get("parent"):
                row["Item_Parent"] = {"Item_Name": spec["parent"], "Data_Type": "Book"}
            rows.append(row)
    return {"Report_Header": _header_50(report_id, REPORT_NAMES[report_id], month, customer_id, platform, institution,
                                        exceptions), "Report_Items": rows}
