"""The figures in the shape of a COUNTER Release 5 platform report (JSON, as COUNTER_SUSHI serves it).

Sésame sees logins to platforms, not the items read on them, so it reports at
platform level: ``Total_Item_Requests`` is the granted accesses (double clicks
filtered as COUNTER says), ``No_License`` the refusals because the network
does not offer the supplier or the partner's agreement is over. Distinct
patrons have no COUNTER metric; they are given under the namespaced custom
metric ``Sesame:Unique_Users`` (Code of Practice §11: extending reports).

Where a supplier sent its own COUNTER figures (harvested over SUSHI or
imported), a second item for its platform carries them with COUNTER's metric
names, marked ``"Sesame:Source": "supplier"`` and with how they reached the
selection in ``Sesame:Attribution`` (``member``, or ``prorata``: shared in
proportion to Sésame's unique patrons).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from ...clock import utcnow
from ..counter.reports import PR_METRICS
from .figures import MonthFigures, Selection, supplier_counter

REPORT_ID = "Sesame:PR"
REPORT_NAME = "Sesame:Platform Usage"
UNIQUE_USERS = "Sesame:Unique_Users"
#: refusal reasons that COUNTER counts as "the institution has no licence"
NO_LICENSE_REASONS = frozenset({"not_in_bundle", "partner_inactive"})
#: COUNTER_SUSHI exception: no usage available for the requested dates
NO_USAGE = 3030


def _period(f: MonthFigures) -> dict[str, str]:
    following = f.month.next()
    last_day = date(following.year, following.month, 1) - timedelta(days=1)
    return {"Begin_Date": date(f.month.year, f.month.month, 1).isoformat(), "End_Date": last_day.isoformat()}


def platform_report(months: list[MonthFigures], selection: Selection, *, now: datetime | None = None) -> dict[str, Any]:
    """A COUNTER R5-shaped platform report over ``months`` for ``selection`` (created ``now``)."""
    items: dict[str, dict[str, Any]] = {}
    exceptions = []
    for f in months:
        for row in supplier_counter(f):
            instances = [{"Metric_Type": m, "Count": row["metrics"][m]} for m in PR_METRICS
                         if row["metrics"].get(m)]
            if not instances:
                continue
            item = items.setdefault(f"{row['slug']}\x00supplier", {
                "Platform": row["name"], "Data_Type": "Platform", "Access_Method": "Regular",
                "Sesame:Supplier": row["slug"], "Sesame:Source": "supplier", "Sesame:Attribution": "",
                "Performance": []})
            methods = set(filter(None, item["Sesame:Attribution"].split("|"))) | set(row["methods"])
            item["Sesame:Attribution"] = "|".join(sorted(methods))
            item["Performance"].append({"Period": _period(f), "Instance": instances})
        if not f.aggregated:
            exceptions.append({"Code": NO_USAGE, "Message": "No Usage Available for Requested Dates",
                               "Data": f"{f.month} is not aggregated yet"})
            continue
        no_license: dict[str, int] = {}
        for r in f.refusal_details:
            if r["reason"] in NO_LICENSE_REASONS and r["supplier"]:
                no_license[r["supplier"]] = no_license.get(r["supplier"], 0) + r["refusals"]
        for s in f.suppliers:
            instances = [{"Metric_Type": metric, "Count": count} for metric, count in (
                ("Total_Item_Requests", s.accesses), (UNIQUE_USERS, s.unique_patrons),
                ("No_License", no_license.get(s.slug, 0))) if count]
            if not instances:
                continue  # COUNTER reports leave out rows without usage
            item = items.setdefault(s.slug, {"Platform": s.name, "Data_Type": "Platform", "Access_Method": "Regular",
                                             "Sesame:Supplier": s.slug, "Performance": []})
            item["Performance"].append({"Period": _period(f), "Instance": instances})
    header: dict[str, Any] = {
        "Created": (now or utcnow()).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "Created_By": "Sésame",
        "Customer_ID": selection.slug,
        "Report_ID": REPORT_ID,
        "Release": "5",
        "Report_Name": REPORT_NAME,
        "Institution_Name": selection.label,
        "Report_Filters": [],
        "Report_Attributes": [{"Name": "Attributes_To_Show", "Value": "Data_Type|Access_Method"}],
        "Exceptions": exceptions,
    }
    if months:
        header["Report_Filters"] = [{"Name": "Begin_Date", "Value": _period(months[0])["Begin_Date"]},
                                    {"Name": "End_Date", "Value": _period(months[-1])["End_Date"]}]
    if selection.library is not None and selection.library.code.upper().startswith("FR-"):
        header["Institution_ID"] = [{"Type": "ISIL", "Value": selection.library.code}]
    return {"Report_Header": header, "Report_Items": [items[k] for k in sorted(items)]}
