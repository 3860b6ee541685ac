"""OpenAPI 3.1 description of /api/v1/stats, to merge into the API document (/api/v1/openapi.json).

``PATHS`` are relative to the ``/api/v1`` server, like the rest of the API;
``SCHEMAS`` go under ``components/schemas`` and refer to the API's ``Error``
schema. :func:`merge_into` does both (with ``web.api.openapi.merge``);
:func:`document` is the API document limited to these paths, for checking responses.
"""

from __future__ import annotations

from typing import Any

from ..db.counter_models import ITEM_METRICS
from ..domain.access import Reason
from ..services.counter.reports import PR_METRICS
from .api.openapi import error_responses, json_content, merge, ref

TAG = "statistics"
_COUNT = {"type": "integer", "minimum": 0}
_MONTH = {"type": "string", "pattern": r"^\d{4}-\d{2}$", "examples": ["2025-03"]}


_ref, _json = ref, json_content
_errors = error_responses({
    400: "Malformed or future month or year, or a bad parameter.",
    403: "Outside the token owner's scope (the attempt is recorded in the audit log).",
    404: "No such library or network."})


_FIGURES = ("accesses", "unique_patrons", "refusals", "registrations", "validated", "refused", "pending_end",
            "active_end")
_FIGURE_DOCS = {
    "accesses": "Granted accesses (COUNTER Total_Item_Requests: a double click within 30 s counts once).",
    "unique_patrons": "Distinct patrons with at least one granted access in the month.",
    "refusals": "Refused access attempts.",
    "registrations": "Registrations made in the month.",
    "validated": "Registrations validated in the month (by a referent or automatically).",
    "refused": "Registrations refused in the month.",
    "pending_end": "Registrations waiting for a decision at the end of the month.",
    "active_end": "Active members at the end of the month.",
}

SCHEMAS: dict[str, Any] = {
    "StatsSelection": {
        "type": "object", "required": ["network", "library", "label"], "additionalProperties": False,
        "properties": {"network": {"type": ["string", "null"]}, "library": {"type": ["string", "null"]},
                       "label": {"type": "string"}},
    },
    "StatsFigures": {
        "type": "object", "required": list(_FIGURES), "additionalProperties": False,
        "properties": {k: {**_COUNT, "description": _FIGURE_DOCS[k]} for k in _FIGURES},
    },
    "StatsSupplier": {
        "type": "object", "required": ["slug", "name", "accesses", "unique_patrons", "refusals"],
        "additionalProperties": False,
        "properties": {"slug": {"type": "string"}, "name": {"type": "string"}, "accesses": _COUNT,
                       "unique_patrons": _COUNT, "refusals": _COUNT},
    },
    "StatsLibrary": {
        "type": "object", "required": ["code", "name", "network", *_FIGURES], "additionalProperties": False,
        "properties": {"code": {"type": "string"}, "name": {"type": "string"}, "network": {"type": "string"},
                       **{k: _COUNT for k in _FIGURES}},
    },
    "StatsDetail": {
        "type": "object",
        "required": ["month", "network", "library_code", "library_name", "supplier", "supplier_name", "accesses",
                     "unique_patrons", "refusals"],
        "additionalProperties": False,
        "properties": {"month": _MONTH, "network": {"type": "string"}, "library_code": {"type": "string"},
                       "library_name": {"type": "string"}, "supplier": {"type": "string"},
                       "supplier_name": {"type": "string"}, "accesses": _COUNT, "unique_patrons": _COUNT,
                       "refusals": _COUNT,
                       "counter": {"type": "object", "additionalProperties": _COUNT,
                                   "description": "The supplier's own COUNTER metrics for the library "
                                                  "(Total_Item_Requests, Unique_Item_Requests, …), from its reports."},
                       "counter_method": {"enum": ["", "member", "prorata"],
                                          "description": "member: reported for the library; prorata: the network's "
                                                         "figure shared in proportion to the library's unique "
                                                         "patrons of the supplier that month."},
                       "counter_method_label": {"type": "string",
                                                "description": "The method in French, e.g. "
                                                               "\"réparti au prorata des accès\"."}},
    },
    "StatsMonth": {
        "type": "object",
        "required": ["selection", "month", "aggregated", "computed_at", "final", "totals", "suppliers", "libraries",
                     "refusals", "details"],
        "additionalProperties": False,
        "properties": {
            "selection": _ref("StatsSelection"), "month": _MONTH,
            "aggregated": {"type": "boolean", "description": "False until `broker stats aggregate` ran for it."},
            "computed_at": {"type": ["string", "null"], "format": "date-time"},
            "final": {"type": "boolean", "description": "Computed after the month was over."},
            "totals": _ref("StatsFigures"),
            "suppliers": {"type": "array", "items": _ref("StatsSupplier")},
            "libraries": {"type": "array", "items": _ref("StatsLibrary")},
            "refusals": {"type": "object", "additionalProperties": _COUNT,
                         "description": "Refusals by reason code: " + ", ".join(r.value for r in Reason) + "."},
            "details": {"type": "array", "items": _ref("StatsDetail"),
                        "description": "One line per library and supplier."},
            "counter_unattributed": {
                "type": "object", "additionalProperties": {"type": "object", "additionalProperties": _COUNT},
                "description": "Supplier slug → COUNTER metrics reported for the network in a month when no "
                               "patron used the supplier through Sésame (nothing to share them by)."},
        },
    },
    "StatsTrend": {
        "type": "object", "required": ["selection", "items"], "additionalProperties": False,
        "properties": {"selection": _ref("StatsSelection"), "items": {"type": "array", "items": {
            "type": "object", "required": ["month", "accesses", "unique_patrons", "refusals", "active_end", "aggregated"],
            "additionalProperties": False,
            "properties": {"month": _MONTH, "accesses": _COUNT, "unique_patrons": _COUNT, "refusals": _COUNT,
                           "active_end": _COUNT, "aggregated": {"type": "boolean"}}}}},
    },
    "StatsMonths": {
        "type": "object", "required": ["items"], "additionalProperties": False,
        "properties": {"items": {"type": "array", "items": {
            "type": "object", "required": ["month", "computed_at", "final", "sealed"], "additionalProperties": False,
            "properties": {"month": _MONTH, "computed_at": {"type": "string", "format": "date-time"},
                           "final": {"type": "boolean"},
                           "sealed": {"type": "boolean",
                                      "description": "Raw events purged: the figures will not change again."}}}}},
    },
    "CounterReport": {
        "type": "object", "required": ["Report_Header", "Report_Items"],
        "description": "COUNTER Release 5 platform report shape (custom report Sesame:PR).",
        "properties": {
            "Report_Header": {
                "type": "object",
                "required": ["Created", "Created_By", "Customer_ID", "Report_ID", "Release", "Report_Name",
                             "Institution_Name", "Report_Filters", "Exceptions"],
                "properties": {"Created": {"type": "string"}, "Created_By": {"type": "string"},
                               "Customer_ID": {"type": "string"}, "Report_ID": {"const": "Sesame:PR"},
                               "Release": {"const": "5"}, "Report_Name": {"type": "string"},
                               "Institution_Name": {"type": "string"},
                               "Institution_ID": {"type": "array", "items": {"type": "object"}},
                               "Report_Filters": {"type": "array", "items": {"type": "object"}},
                               "Report_Attributes": {"type": "array", "items": {"type": "object"}},
                               "Exceptions": {"type": "array", "items": {"type": "object"}}},
            },
            "Report_Items": {"type": "array", "items": {
                "type": "object", "required": ["Platform", "Data_Type", "Access_Method", "Performance"],
                "properties": {
                    "Platform": {"type": "string"}, "Data_Type": {"const": "Platform"},
                    "Access_Method": {"const": "Regular"}, "Sesame:Supplier": {"type": "string"},
                    "Sesame:Source": {"const": "supplier",
                                      "description": "Present on the items holding the supplier's own COUNTER "
                                                     "figures (its reports); absent on Sésame's accesses."},
                    "Sesame:Attribution": {"type": "string",
                                           "description": "How the supplier's figures reached the selection: "
                                                          "member (reported for the library), prorata (the "
                                                          "network's figure shared in proportion to unique "
                                                          "patrons), or both separated by |."},
                    "Performance": {"type": "array", "items": {
                        "type": "object", "required": ["Period", "Instance"],
                        "properties": {
                            "Period": {"type": "object", "required": ["Begin_Date", "End_Date"],
                                       "properties": {"Begin_Date": {"type": "string", "format": "date"},
                                                      "End_Date": {"type": "string", "format": "date"}}},
                            "Instance": {"type": "array", "items": {
                                "type": "object", "required": ["Metric_Type", "Count"],
                                "properties": {"Metric_Type": {"enum": ["Sesame:Unique_Users", "No_License",
                                                                        *PR_METRICS]},
                                               "Count": _COUNT}}},
                        }}},
                }}},
        },
    },
}

_METRIC_NAME = {"enum": list(ITEM_METRICS)}
SCHEMAS["StatsTitles"] = {
    "type": "object",
    "required": ["generated_at", "selection", "period", "report", "report_label", "ranked_by", "metrics", "lines"],
    "additionalProperties": False,
    "description": "The suppliers' most used databases (DR), titles (TR) or items (IR), from their COUNTER reports, "
                   "attributed like the platform report: a member's report whole to its library, a network's "
                   "shared title by title in proportion to the libraries' unique patrons of the supplier.",
    "properties": {
        "generated_at": {"type": "string", "format": "date-time"},
        "selection": _ref("StatsSelection"),
        "period": {"type": "string", "pattern": r"^\d{4}(-\d{2})?$", "description": "The month or the year."},
        "report": {"enum": ["DR", "TR", "IR"]},
        "report_label": {"type": "string", "description": "The report's name in French."},
        "ranked_by": {**_METRIC_NAME, "description": "The metric the lines are ranked by, largest first."},
        "metrics": {"type": "array", "description": "The report's metrics: COUNTER name and French label.",
                    "items": {"type": "object", "required": ["id", "label"], "additionalProperties": False,
                              "properties": {"id": _METRIC_NAME, "label": {"type": "string"}}}},
        "lines": {"type": "array", "items": {
            "type": "object",
            "required": ["supplier", "supplier_name", "report", "name", "publisher", "identifiers", "data_types",
                         "metrics", "method", "method_label"],
            "additionalProperties": False,
            "properties": {
                "supplier": {"type": "string"}, "supplier_name": {"type": "string"},
                "report": {"enum": ["DR", "TR", "IR"]},
                "name": {"type": "string", "description": "The database, title or item."},
                "parent": {"type": "string", "description": "Items (IR) only: the parent title."},
                "publisher": {"type": "string"},
                "identifiers": {"type": "object", "additionalProperties": {"type": "string"},
                                "description": "COUNTER identifiers: DOI, ISBN, Online_ISSN, Print_ISSN, "
                                               "Proprietary, URI."},
                "data_types": {"type": "array", "items": {"type": "string"}},
                "metrics": {"type": "object", "additionalProperties": _COUNT,
                            "propertyNames": _METRIC_NAME,
                            "description": "COUNTER metric → count; a metric the report does not give is absent."},
                "method": {"enum": ["", "member", "prorata"]},
                "method_label": {"type": "string",
                                 "description": "The method in French, e.g. \"réparti au prorata des accès\"."}}}},
    },
}

_CODE = {"name": "code", "in": "path", "required": True, "description": "Library code (ISIL), e.g. FR-140476101.",
         "schema": {"type": "string", "maxLength": 64}}
_SLUG = {"name": "slug", "in": "path", "required": True, "description": "Network slug, e.g. calvados.",
         "schema": {"type": "string", "maxLength": 64}}
_MONTH_Q = {"name": "month", "in": "query", "description": "YYYY-MM; default: the latest aggregated month.",
            "schema": _MONTH}
_YEAR_Q = {"name": "year", "in": "query", "description": "YYYY: every month of that year so far (instead of month).",
           "schema": {"type": "string", "pattern": r"^\d{4}$"}}
_END_Q = {"name": "end", "in": "query", "description": "Last month of the trend (YYYY-MM); default: this month.",
          "schema": _MONTH}
_REPORT_Q = {"name": "report", "in": "query", "description": "dr (databases), tr (titles) or ir (items).",
             "schema": {"enum": ["dr", "tr", "ir", "DR", "TR", "IR"], "default": "tr"}}
_METRIC_Q = {"name": "metric", "in": "query", "description": "The COUNTER metric to rank by (one of the report's).",
             "schema": {**_METRIC_NAME, "default": "Total_Item_Requests"}}
_LIMIT_Q = {"name": "limit", "in": "query", "description": "How many lines, most used first (1 to 10000).",
            "schema": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 50}}
_COUNT_Q = {"name": "months", "in": "query", "description": "How many months (1 to 36).",
            "schema": {"type": "integer", "minimum": 1, "maximum": 36, "default": 12}}


def _op(summary: str, param: dict, query: list[dict], schema: str, what: str) -> dict:
    return {"get": {"summary": summary, "tags": [TAG], "parameters": [param, *query],
                    "responses": {"200": _json(_ref(schema), what), **_errors(400, 401, 403, 404)}}}


PATHS: dict[str, Any] = {
    "/stats/months": {"get": {
        "summary": "Months aggregated so far, newest first, and whether their figures are final.", "tags": [TAG],
        "responses": {"200": _json(_ref("StatsMonths"), "Aggregation status per month."), **_errors(401)}}},
    "/stats/libraries/{code}": _op("A library's figures for one month: totals, suppliers, refusals by reason.",
                                   _CODE, [_MONTH_Q], "StatsMonth", "The month's figures."),
    "/stats/networks/{slug}": _op("A network's figures for one month, with each library (network admins).",
                                  _SLUG, [_MONTH_Q], "StatsMonth", "The month's figures."),
    "/stats/libraries/{code}/trend": _op("A library's monthly totals over several months.", _CODE,
                                         [_END_Q, _COUNT_Q], "StatsTrend", "One point per month, oldest first."),
    "/stats/networks/{slug}/trend": _op("A network's monthly totals over several months.", _SLUG,
                                        [_END_Q, _COUNT_Q], "StatsTrend", "One point per month, oldest first."),
    "/stats/libraries/{code}/counter": _op("A library's usage as a COUNTER R5 platform report.", _CODE,
                                           [_MONTH_Q, _YEAR_Q], "CounterReport", "COUNTER-shaped report."),
    "/stats/networks/{slug}/counter": _op("A network's usage as a COUNTER R5 platform report.", _SLUG,
                                          [_MONTH_Q, _YEAR_Q], "CounterReport", "COUNTER-shaped report."),
    "/stats/libraries/{code}/titles": _op("A library's most used databases, titles or items (COUNTER DR, TR, IR).",
                                          _CODE, [_MONTH_Q, _YEAR_Q, _REPORT_Q, _METRIC_Q, _LIMIT_Q], "StatsTitles",
                                          "The lines, most used first."),
    "/stats/networks/{slug}/titles": _op("A network's most used databases, titles or items (COUNTER DR, TR, IR).",
                                         _SLUG, [_MONTH_Q, _YEAR_Q, _REPORT_Q, _METRIC_Q, _LIMIT_Q], "StatsTitles",
                                         "The lines, most used first."),
}


def merge_into(doc: dict[str, Any]) -> dict[str, Any]:
    """Add the statistics paths, schemas and tag to an API document (in place; returned for chaining)."""
    return merge(doc, PATHS, SCHEMAS, tag=TAG,
                 tag_description="Monthly usage statistics per library, network and supplier.")


def document() -> dict[str, Any]:
    """The API document (/api/v1/openapi.json) limited to the statistics endpoints."""
    from .api.spec import openapi_document

    return openapi_document(set(PATHS))
