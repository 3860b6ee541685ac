"""The statistics pages: a library's or a network's month, suppliers and months side by side, 12-month trends."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING

from flask import Response, g, render_template, request
from flask_babel import gettext as _
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from ...db.models import Library, Network, Partner
from ...db.stats_models import StatsMonth
from ...errors import InvalidInput, NotFound
from ...services import staff
from ...services.counter.attribution import METHOD_LABELS
from ...services.counter.reports import PR_METRICS
from ...services.stats import Month, figures, parse_year
from ...services.stats.counter import platform_report
from ...services.stats.exports import COUNTER_COLUMNS, MEDIA_TYPES, filename, render
from ...services.stats.figures import Selection, supplier_counter, supplier_matrix
from ...services.stats.months import months_of_year
from ...services.stats.report import get_partner, partner_report
from ...wording import sorted_names
from ..templating import requested_csv_style as requested_style
from . import bp
from .charts import Series, bar_chart, line_chart
from .guard import deny, library_in_scope, month_arg, network_in_scope, staff_page
from .labels import REASON_LABELS, month_label
from .report_page import render_report

if TYPE_CHECKING:
    from ...runtime import Runtime


@bp.context_processor
def helpers() -> dict:
    return {
        "staff_user": g.get("staff_user"),
        "staff_admin": g.get("staff_admin", False),
        "reason_label": lambda r: REASON_LABELS.get(r, r),
        "month_label": month_label,
    }


@bp.after_request
def no_store(response):
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Frame-Options", "DENY")
    return response


def _libraries_in_scope(db, user) -> list[Library]:
    scope = staff.scope_of(user)
    if scope.empty:
        return []
    return sorted_names(db.scalars(
        select(Library).join(Partner).where(or_(Library.id.in_(scope.libraries),
                                                Partner.network_id.in_(scope.admin_networks)))
        .options(selectinload(Library.partner).selectinload(Partner.network))), key=lambda lib: lib.name)


@bp.get("/")
@staff_page
def index(rt: Runtime, db, user):
    month = month_arg(db)
    scope = staff.scope_of(user)
    networks = sorted_names(db.scalars(select(Network).where(Network.id.in_(scope.admin_networks))),
                            key=lambda n: n.name)
    libs = _libraries_in_scope(db, user)
    network_totals = [(net, figures(db, Selection(network=net), [month])[0]) for net in networks]
    # a network's figures already hold each of its libraries: one query set per network, not per library
    lines = {line.library_id: line.figures for _, f in network_totals for line in f.libraries}
    rows = []
    for lib in libs:
        if lib.id not in lines:
            lines[lib.id] = figures(db, Selection(network=lib.partner.network, library=lib), [month])[0].totals
        rows.append((lib, lines[lib.id]))
    partners = sorted_names({lib.partner.slug: lib.partner for lib in libs}.values(), key=lambda p: p.name)
    return render_template("stats/index.html", month=month, rows=rows, networks=network_totals, partners=partners,
                           years=[month.year, month.year - 1], current=Month.current(rt.clock.utcnow()),
                           aggregated=db.get(StatsMonth, str(month)) is not None)


def _figures_page(db, selection: Selection, kind: str, key: str, month: Month, now: datetime):
    months = figures(db, selection, month.back(12))
    current = months[-1]
    labels = [month_label(f.month) for f in months]
    trend_chart = line_chart(
        "trend", _("Accès et usagers uniques sur 12 mois"), labels,
        [Series(_("Accès"), [f.totals["accesses"] for f in months], color="#1d4f91"),
         Series(_("Usagers uniques"), [f.totals["unique_patrons"] for f in months], color="#8a4b08", dash="6 4",
                marker="square")],
    )
    supplier_chart = bar_chart(
        "suppliers", _("Accès par fournisseur, %(month)s", month=month_label(month)),
        [(s.name, s.accesses) for s in current.suppliers if s.accesses or not current.aggregated][:20]
        or [(s.name, 0) for s in current.suppliers[:20]],
    )
    return render_template(
        "stats/figures.html", kind=kind, key=key, selection=selection, month=month, current=current,
        months=months, matrix=supplier_matrix(months), trend_chart=trend_chart, supplier_chart=supplier_chart,
        counter_rows=supplier_counter(current), counter_metrics=COUNTER_COLUMNS, metric_labels=PR_METRICS,
        method_labels=METHOD_LABELS,
        previous=month.previous(), following=month.next() if month.next() <= Month.current(now) else None,
        year=month.year, current_month=Month.current(now),
    )


@bp.get("/libraries/<code>")
@staff_page
def library(rt: Runtime, db, user, code):
    lib = library_in_scope(rt, db, user, code)
    month = month_arg(db)
    return _figures_page(db, Selection(network=lib.partner.network, library=lib), "libraries", lib.code, month,
                         rt.clock.utcnow())


@bp.get("/networks/<slug>")
@staff_page
def network(rt: Runtime, db, user, slug):
    net = network_in_scope(rt, db, user, slug)
    month = month_arg(db)
    return _figures_page(db, Selection(network=net), "networks", net.slug, month, rt.clock.utcnow())


def _selection(rt: Runtime, db, user, kind: str, key: str, action: str) -> Selection:
    if kind == "libraries":
        lib = library_in_scope(rt, db, user, key, action)
        return Selection(network=lib.partner.network, library=lib)
    net = network_in_scope(rt, db, user, key, action)
    return Selection(network=net)


def _period(db, now: datetime) -> tuple[list[Month], str]:
    year = request.args.get("year")
    if year and request.args.get("month"):
        raise InvalidInput(_("Indiquez un mois ou une année, pas les deux."))
    if year:
        the_year = parse_year(year, now=now)
        return months_of_year(the_year, now), str(the_year)
    month = month_arg(db)
    return [month], str(month)


@bp.get("/<any(libraries, networks):kind>/<key>/export.<any(csv, xlsx, json):fmt>")
@staff_page
def export(rt: Runtime, db, user, kind, key, fmt):
    selection = _selection(rt, db, user, kind, key, "stats.export")
    months, period = _period(db, rt.clock.utcnow())
    table = request.args.get("table", "usage")
    how = requested_style()
    body = render(figures(db, selection, months), selection, fmt, table, how, now=rt.clock.utcnow())
    return Response(body, mimetype=MEDIA_TYPES[fmt], headers={
        "Content-Disposition": f'attachment; filename="{filename(selection, period, fmt, table)}"'})


@bp.get("/<any(libraries, networks):kind>/<key>/counter.json")
@staff_page
def counter(rt: Runtime, db, user, kind, key):
    selection = _selection(rt, db, user, kind, key, "stats.export")
    months, period = _period(db, rt.clock.utcnow())
    body = json.dumps(platform_report(figures(db, selection, months), selection, now=rt.clock.utcnow()),
                      ensure_ascii=False, indent=2)
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="counter-pr-{selection.slug}-{period}.json"'})


def _titles_scope(db, selection: Selection) -> list[Library]:
    from ...services.counter.titles import selection_libraries

    return selection_libraries(db, selection)


@bp.get("/<any(libraries, networks):kind>/<key>/titles")
@staff_page
def titles(rt: Runtime, db, user, kind, key):
    """The suppliers' most used titles (TR), databases (DR) or documents (IR) for the library or network."""
    from ...services.counter import titles as service
    from ...services.counter.item_reports import METRIC_LABELS

    selection = _selection(rt, db, user, kind, key, "stats.view")
    month = month_arg(db)
    report_id = service.report_arg(request.args.get("report"))
    metric = service.metric_arg(report_id, request.args.get("metric"))
    lines = service.library_titles(db, _titles_scope(db, selection), [str(month)], report_id, metric=metric,
                                   limit=service.TOP)
    # the table shows the metrics the lines have (the ranking one always), to stay readable on a phone
    columns = [m for m in service.metrics_of(report_id) if m == metric or any(m in t.metrics for t in lines)]
    return render_template("stats/titles.html", kind=kind, key=key, selection=selection, month=month,
                           report_id=report_id, metric=metric, lines=lines, metrics=service.metrics_of(report_id),
                           columns=columns,
                           metric_labels=METRIC_LABELS, method_labels=METHOD_LABELS, top=service.TOP,
                           name_heading=service.NAME_HEADINGS[report_id], current_month=Month.current(),
                           previous=month.previous(), following=month.next() if month.next() <= Month.current()
                           else None)


@bp.get("/<any(libraries, networks):kind>/<key>/titles.<any(csv, xlsx, json):fmt>")
@staff_page
def titles_export(rt: Runtime, db, user, kind, key, fmt):
    from ...services.counter import titles as service

    selection = _selection(rt, db, user, kind, key, "stats.export")
    months, period = _period(db, rt.clock.utcnow())
    report_id = service.report_arg(request.args.get("report"))
    metric = service.metric_arg(report_id, request.args.get("metric"))
    lines = service.library_titles(db, _titles_scope(db, selection), [str(m) for m in months], report_id,
                                   metric=metric)
    if fmt == "json":
        body = json.dumps(service.document(lines, report_id, selection=selection.slug, period=period, metric=metric),
                          ensure_ascii=False, indent=2).encode("utf-8")
    elif fmt == "xlsx":
        body = service.to_xlsx(lines, report_id, selection=selection.slug, period=period, label=selection.label)
    else:
        body = service.to_csv(lines, report_id, selection=selection.slug, period=period, how=requested_style())
    name = f"counter-{report_id.lower()}-{selection.slug}-{period}.{fmt}"
    return Response(body, mimetype=MEDIA_TYPES[fmt], headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/partners/<slug>/<year>")
@staff_page
def report(rt: Runtime, db, user, slug, year):
    try:
        partner = get_partner(db, slug)
    except (InvalidInput, NotFound):
        raise NotFound(_("Partenaire inconnu : %(slug)s", slug=slug[:64]), code="unknown_partner") from None
    the_year = parse_year(year, now=rt.clock.utcnow())
    scope = staff.scope_of(user)
    visible = {lib.id for lib in partner.libraries if scope.covers(lib)}
    if not visible:
        raise deny(rt, user, "stats.report", partner.slug)
    data = partner_report(db, partner, the_year, now=rt.clock.utcnow(), visible=None if partner.network_id in scope.admin_networks
                          else visible)
    return render_report(data)
