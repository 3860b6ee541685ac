"""The yearly partner report as one printable HTML page (print it to PDF from any browser)."""

from __future__ import annotations

from flask import render_template
from flask_babel import gettext as _

from ...services.stats.report import PartnerReport
from .charts import bar_chart
from .labels import month_label


def render_report(data: PartnerReport) -> str:
    chart = bar_chart("report-suppliers", _("Accès par fournisseur en %(year)d", year=data.year),
                      [(s.name, s.total) for s in data.suppliers])
    from ...services.counter.attribution import METHOD_LABELS
    from ...services.counter.reports import PR_METRICS

    return render_template("stats/report.html", report=data, chart=chart, month_label=month_label,
                           missing=[month_label(m) for m in data.months_missing],
                           counter_metrics=REPORT_METRICS, metric_labels=PR_METRICS, method_labels=METHOD_LABELS)


#: the suppliers' metrics a printed report shows (the others are in the exports)
REPORT_METRICS = ("Total_Item_Requests", "Unique_Item_Requests", "Unique_Title_Requests", "Searches_Platform")
