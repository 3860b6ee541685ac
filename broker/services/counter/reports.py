"""Reading a COUNTER platform report (PR) for one month, in the 5.0 or the 5.1 JSON shape, and checking it.

5.0 items carry ``Performance`` as a list of periods, each with ``Instance``
``{Metric_Type, Count}``; 5.1 items carry ``Attribute_Performance``, each with
``Performance`` ``{metric: {"YYYY-MM": count}}``. Report filters are a list of
``{Name, Value}`` in 5.0 and an object in 5.1. Only ``Regular`` access counts
(text and data mining is reported apart by COUNTER and left out here).

:func:`read_platform_report` returns the month's total per metric, or raises
``SushiProblem("rejected", reason)`` for a report that breaks the rules: the
caller then keeps what it had stored before.
"""

from __future__ import annotations

from typing import Any

from .sushi import SushiProblem, exception_of, problem_from

#: metrics a platform report may carry, with their French labels
PR_METRICS: dict[str, str] = {
    "Searches_Platform": "Recherches sur la plateforme",
    "Total_Item_Investigations": "Consultations (total)",
    "Total_Item_Requests": "Contenus consultés (total)",
    "Unique_Item_Investigations": "Consultations uniques",
    "Unique_Item_Requests": "Contenus consultés (uniques)",
    "Unique_Title_Investigations": "Titres consultés (investigations uniques)",
    "Unique_Title_Requests": "Titres consultés (uniques)",
}
#: (smaller, larger): a unique count never exceeds its total
INVARIANTS = (("Unique_Item_Requests", "Total_Item_Requests"),
              ("Unique_Item_Investigations", "Total_Item_Investigations"),
              ("Total_Item_Requests", "Total_Item_Investigations"),
              ("Unique_Title_Requests", "Unique_Item_Requests"),
              ("Unique_Title_Investigations", "Unique_Item_Investigations"))


def _reject(reason: str) -> SushiProblem:
    return SushiProblem("rejected", f"report rejected: {reason}")


def _count(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise _reject(f"{where}: the count {str(value)[:20]!r} is not a whole number ≥ 0")
    return value


def _filters(header: dict, release: str) -> dict[str, str]:
    raw = header.get("Report_Filters")
    if release == "5":
        if not isinstance(raw, list) or not all(isinstance(f, dict) and "Name" in f for f in raw):
            raise _reject("Report_Filters must be a list of {Name, Value} in release 5")
        return {str(f["Name"]): str(f.get("Value", "")) for f in raw}
    if not isinstance(raw, dict):
        raise _reject("Report_Filters must be an object in release 5.1")
    return {str(k): v if isinstance(v, str) else "|".join(map(str, v)) if isinstance(v, list) else str(v)
            for k, v in raw.items()}


def read_header(data: Any, report_id: str, *, month: str, customer_id: str) -> tuple[str, list]:
    """``(release, Report_Items)`` of a report body once its header is checked (exceptions raised as problems)."""
    exc = exception_of(data)
    if exc is not None:
        raise problem_from(exc)
    if not isinstance(data, dict) or not isinstance(data.get("Report_Header"), dict):
        raise _reject("no Report_Header object")
    header = data["Report_Header"]
    release = str(header.get("Release", ""))
    if release not in ("5", "5.1"):
        raise _reject(f"Release {release[:10]!r}: expected 5 or 5.1")
    if header.get("Report_ID") != report_id:
        raise _reject(f"Report_ID {str(header.get('Report_ID'))[:20]!r}: expected {report_id}")
    for name in ("Created", "Created_By", "Institution_Name"):
        if not isinstance(header.get(name), str) or not header[name].strip():
            raise _reject(f"Report_Header.{name} is missing")
    if "Customer_ID" in header and str(header["Customer_ID"]) != customer_id:
        raise _reject(f"the report is for customer {str(header['Customer_ID'])[:60]!r}, not {customer_id!r}")
    filters = _filters(header, release)
    begin, end = filters.get("Begin_Date", ""), filters.get("End_Date", "")
    if begin[:7] != month or end[:7] != month:
        raise _reject(f"it covers {begin[:10] or '?'} to {end[:10] or '?'}, not {month}")
    exceptions = header.get("Exceptions", [])
    if not isinstance(exceptions, list):
        raise _reject("Report_Header.Exceptions must be a list")
    items = data.get("Report_Items")
    blocking = [e for e in exceptions if isinstance(e, dict) and e.get("Code") in (3030, 3031, 3032, 3040)]
    if blocking and not items:
        raise problem_from(blocking[0])
    if any(isinstance(e, dict) and e.get("Code") in (3031, 3032, 3040) for e in exceptions):
        raise problem_from(next(e for e in exceptions if e.get("Code") in (3031, 3032, 3040)))
    if items is None:
        items = []
    if not isinstance(items, list):
        raise _reject("Report_Items must be a list")
    return release, items


def read_platform_report(data: Any, *, month: str, customer_id: str, platform: str = "") -> tuple[str, dict[str, int]]:
    """``(release, {metric: count})`` of ``month`` from a PR body; SushiProblem for exceptions and bad reports."""
    release, items = read_header(data, "PR", month=month, customer_id=customer_id)
    totals: dict[str, int] = {}
    for index, item in enumerate(items):
        where = f"Report_Items[{index}]"
        if not isinstance(item, dict) or not isinstance(item.get("Platform"), str):
            raise _reject(f"{where}: no Platform")
        if platform and item["Platform"] != platform:
            continue
        for metric, count in (_items_50(item, where, month) if release == "5" else _items_51(item, where, month)):
            if metric not in PR_METRICS:
                raise _reject(f"{where}: {metric[:40]!r} is not a platform report metric")
            totals[metric] = totals.get(metric, 0) + count
    for smaller, larger in INVARIANTS:
        if smaller in totals and larger in totals and totals[smaller] > totals[larger]:
            raise _reject(f"{smaller} ({totals[smaller]}) exceeds {larger} ({totals[larger]})")
    return release, totals


def _regular(access_method: Any) -> bool:
    return access_method in (None, "", "Regular")


def _items_50(item: dict, where: str, month: str):
    if "Attribute_Performance" in item:
        raise _reject(f"{where}: Attribute_Performance is the 5.1 shape in a release 5 report")
    performance = item.get("Performance")
    if not isinstance(performance, list):
        raise _reject(f"{where}: Performance must be a list of periods in release 5")
    if not _regular(item.get("Access_Method")):
        return
    for p_index, period in enumerate(performance):
        here = f"{where}.Performance[{p_index}]"
        dates = period.get("Period") if isinstance(period, dict) else None
        if not isinstance(dates, dict) or not isinstance(period.get("Instance"), list):
            raise _reject(f"{here}: expected Period and Instance")
        if str(dates.get("Begin_Date", ""))[:7] != month or str(dates.get("End_Date", ""))[:7] != month:
            raise _reject(f"{here}: a period outside {month}")
        for instance in period["Instance"]:
            if not isinstance(instance, dict) or not isinstance(instance.get("Metric_Type"), str):
                raise _reject(f"{here}: an Instance without Metric_Type")
            yield instance["Metric_Type"], _count(instance.get("Count"), here)


def _items_51(item: dict, where: str, month: str):
    if "Performance" in item:
        raise _reject(f"{where}: Performance directly under an item is the 5.0 shape in a release 5.1 report")
    attributes = item.get("Attribute_Performance")
    if not isinstance(attributes, list):
        raise _reject(f"{where}: Attribute_Performance must be a list in release 5.1")
    for a_index, entry in enumerate(attributes):
        here = f"{where}.Attribute_Performance[{a_index}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("Performance"), dict):
            raise _reject(f"{here}: Performance must be an object")
        if not _regular(entry.get("Access_Method")):
            continue
        for metric, by_month in entry["Performance"].items():
            if not isinstance(by_month, dict):
                raise _reject(f"{here}.{metric[:40]}: expected {{\"YYYY-MM\": count}}")
            for key, value in by_month.items():
                if key != month:
                    raise _reject(f"{here}.{metric[:40]}: a count for {key[:10]!r}, outside {month}")
                yield metric, _count(value, f"{here}.{metric[:40]}")
