"""Reading a COUNTER database (DR), title (TR) or item (IR) report for one month, in the 5.0 or 5.1 JSON shape.

The header is checked as for the platform report (:func:`.reports.read_header`).
Each report item is then one database (``Database``), title (``Title``) or item
(``Item``) with its identifiers (``Item_ID``: a list of ``{Type, Value}`` in
5.0, an object in 5.1) and its usage: ``Performance`` periods in 5.0,
``Attribute_Performance`` entries in 5.1. In 5.1 an item report groups the
items under their parent (``Report_Items[].Items[]``, with the parent's
``Title``); in 5.0 an item names its parent in ``Item_Parent``.

Rows of the same item (other data types, years of publication, access types)
are summed; only ``Regular`` access counts. A report that breaks the rules
raises ``SushiProblem("rejected", reason)`` and nothing of it is kept.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from ...db.counter_models import ITEM_METRICS
from .reports import INVARIANTS, _items_50, _items_51, _regular, _reject, read_header

#: the metrics each report may carry (COUNTER R5.0 and R5.1 code of practice, section 4)
REPORT_METRICS: dict[str, frozenset[str]] = {
    "DR": frozenset(ITEM_METRICS),
    "TR": frozenset(ITEM_METRICS) - {"Searches_Regular", "Searches_Automated", "Searches_Federated"},
    "IR": frozenset({"Total_Item_Requests", "Unique_Item_Requests", "Total_Item_Investigations",
                     "Unique_Item_Investigations", "Limit_Exceeded", "No_License"}),
}
#: what names an item in each report
NAME_FIELD = {"DR": "Database", "TR": "Title", "IR": "Item"}
#: identifiers that name the same title from one month to the next, most stable first
KEY_IDENTIFIERS = {"DR": ("Proprietary",),
                   "TR": ("DOI", "ISBN", "Online_ISSN", "Print_ISSN", "Proprietary", "URI"),
                   "IR": ("DOI", "Proprietary", "ISBN", "URI")}
#: a report with more items than this is refused rather than stored in part
MAX_ITEMS = 200_000

#: French labels of the metrics (the platform report's, plus the database and denial metrics)
METRIC_LABELS: dict[str, str] = {
    "Total_Item_Requests": "Contenus consultés (total)",
    "Unique_Item_Requests": "Contenus consultés (uniques)",
    "Unique_Title_Requests": "Titres consultés (uniques)",
    "Total_Item_Investigations": "Consultations (total)",
    "Unique_Item_Investigations": "Consultations uniques",
    "Unique_Title_Investigations": "Titres consultés (investigations uniques)",
    "Searches_Regular": "Recherches",
    "Searches_Automated": "Recherches automatisées",
    "Searches_Federated": "Recherches fédérées",
    "Limit_Exceeded": "Refus : limite d'accès simultanés atteinte",
    "No_License": "Refus : contenu hors abonnement",
}
assert set(METRIC_LABELS) == set(ITEM_METRICS)
#: the reports in French
REPORT_LABELS = {"PR": "Rapport plateforme", "DR": "Rapport bases de données", "TR": "Rapport titres",
                 "IR": "Rapport documents"}


@dataclass
class ItemUsage:
    name: str
    parent: str = ""
    publisher: str = ""
    platform: str = ""
    identifiers: dict[str, str] = field(default_factory=dict)
    data_types: set[str] = field(default_factory=set)
    metrics: dict[str, int] = field(default_factory=dict)


def item_row(report_id: int, key: str, usage: ItemUsage) -> dict:
    """The ``counter_items`` row of one item of a stored report (a metric the report does not give stays None)."""
    row = {"report_id": report_id, "item_key": key, "name": usage.name, "parent": usage.parent,
           "publisher": usage.publisher, "platform": usage.platform,
           "identifiers": json.dumps(usage.identifiers, ensure_ascii=False, sort_keys=True),
           "data_types": "|".join(sorted(usage.data_types))[:200]}
    for metric in ITEM_METRICS:
        row[metric.lower()] = usage.metrics.get(metric)
    return row


def identifiers_of(raw: Any, where: str) -> dict[str, str]:
    """``{Type: value}`` from a 5.0 list of ``{Type, Value}`` or a 5.1 object (lists joined with "|")."""
    if raw is None:
        return {}
    out: dict[str, str] = {}
    if isinstance(raw, list):
        for entry in raw:
            if not isinstance(entry, dict) or not isinstance(entry.get("Type"), str):
                raise _reject(f"{where}.Item_ID: expected {{Type, Value}} entries")
            out[entry["Type"][:40]] = str(entry.get("Value", ""))[:300]
    elif isinstance(raw, dict):
        for kind, value in raw.items():
            value = "|".join(map(str, value)) if isinstance(value, list) else str(value)
            out[str(kind)[:40]] = value[:300]
    else:
        raise _reject(f"{where}.Item_ID: expected a list (5.0) or an object (5.1)")
    return {k: v for k, v in out.items() if v}


def item_key(report_id: str, name: str, identifiers: dict[str, str]) -> str:
    for kind in KEY_IDENTIFIERS[report_id]:
        if identifiers.get(kind):
            key = f"{kind}:{identifiers[kind].strip().lower()}"
            break
    else:
        key = "name:" + " ".join(name.lower().split())
    return key if len(key) <= 200 else "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def _entries(items: list, report_id: str, release: str):
    """``(where, item, parent)`` for each item; 5.1 item reports nest items under their parent."""
    for index, entry in enumerate(items):
        where = f"Report_Items[{index}]"
        if report_id == "IR" and isinstance(entry, dict) and "Items" in entry:
            if release != "5.1":
                raise _reject(f"{where}: Items under a parent is the 5.1 shape in a release 5 report")
            children = entry["Items"]
            if not isinstance(children, list):
                raise _reject(f"{where}.Items must be a list")
            parent = entry.get("Title") if isinstance(entry.get("Title"), str) else ""
            for c_index, child in enumerate(children):
                yield f"{where}.Items[{c_index}]", child, parent
        else:
            parent = ""
            if isinstance(entry, dict) and isinstance(entry.get("Item_Parent"), dict):
                parent = str(entry["Item_Parent"].get("Item_Name") or entry["Item_Parent"].get("Title") or "")
            yield where, entry, parent


def read_item_report(data: Any, report_id: str, *, month: str, customer_id: str,
                     platform: str = "") -> tuple[str, dict[str, ItemUsage]]:
    """``(release, {item_key: usage})`` of ``month`` from a DR, TR or IR body; SushiProblem when it is not one."""
    release, items = read_header(data, report_id, month=month, customer_id=customer_id)
    allowed = REPORT_METRICS[report_id]
    name_field = NAME_FIELD[report_id]
    found: dict[str, ItemUsage] = {}
    count = 0
    for where, item, parent in _entries(items, report_id, release):
        count += 1
        if count > MAX_ITEMS:
            raise _reject(f"more than {MAX_ITEMS} items: too large to store")
        if not isinstance(item, dict) or not isinstance(item.get("Platform"), str):
            raise _reject(f"{where}: no Platform")
        name = item.get(name_field)
        if not isinstance(name, str) or not name.strip():
            raise _reject(f"{where}: no {name_field}")
        if platform and item["Platform"] != platform:
            continue
        identifiers = identifiers_of(item.get("Item_ID"), where)
        key = item_key(report_id, name, identifiers)
        usage = found.get(key)
        if usage is None:
            usage = found[key] = ItemUsage(name=name.strip()[:500], parent=str(parent or "").strip()[:500],
                                           publisher=str(item.get("Publisher") or "")[:300],
                                           platform=item["Platform"][:200], identifiers=identifiers)
        if release == "5":
            rows = _items_50(item, where, month)
            if _regular(item.get("Access_Method")) and isinstance(item.get("Data_Type"), str):
                usage.data_types.add(item["Data_Type"][:40])
        else:
            rows = _items_51(item, where, month)
            for entry in item.get("Attribute_Performance") or []:
                if isinstance(entry, dict) and _regular(entry.get("Access_Method")) \
                        and isinstance(entry.get("Data_Type"), str):
                    usage.data_types.add(entry["Data_Type"][:40])
        for metric, n in rows:
            if metric not in allowed:
                raise _reject(f"{where}: {metric[:40]!r} is not a metric of the {report_id} report")
            usage.metrics[metric] = usage.metrics.get(metric, 0) + n
    for usage in found.values():
        for smaller, larger in INVARIANTS:
            m = usage.metrics
            if smaller in m and larger in m and m[smaller] > m[larger]:
                raise _reject(f"{name_field} {usage.name[:80]!r}: {smaller} ({m[smaller]}) exceeds {larger} "
                              f"({m[larger]})")
    return release, found
