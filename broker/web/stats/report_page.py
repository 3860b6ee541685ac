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
    return render_template("stats/report.html", report=data, chart=chart, month_label=month_label,
                           missing=[month_label(m) for m in data.months_missing])
