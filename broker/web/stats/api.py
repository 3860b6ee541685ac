"""JSON endpoints under /api/v1/stats: the same figures as the pages, scoped by the token's owner."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import TYPE_CHECKING

from flask import jsonify, request
from flask_babel import gettext as _
from sqlalchemy import select

from ...db.stats_models import StatsMonth
from ...errors import InvalidInput
from ...services.stats import Month, figures, parse_year, trend
from ...services.stats.counter import platform_report
from ...services.stats.exports import month_document
from ...services.stats.figures import Selection
from ...services.stats.months import iso_utc, months_of_year
from ..api.auth import api_view
from . import api_bp
from .guard import count_arg, library_in_scope, month_arg, network_in_scope

if TYPE_CHECKING:
    from ...runtime import Runtime


def _described(selection: Selection) -> dict:
    return {"network": selection.network.slug if selection.network else None,
            "library": selection.library.code if selection.library else None, "label": selection.label}


def _selection(rt: Runtime, db, user, kind: str, key: str) -> Selection:
    if kind == "libraries":
        lib = library_in_scope(rt, db, user, key, "stats.api")
        return Selection(network=lib.partner.network, library=lib)
    return Selection(network=network_in_scope(rt, db, user, key, "stats.api"))


@api_bp.get("/months")
@api_view
def months(rt: Runtime, db, user):
    rows = db.scalars(select(StatsMonth).order_by(StatsMonth.month.desc()))
    return jsonify(items=[{"month": r.month, "computed_at": iso_utc(r.computed_at),
                           "final": r.final, "sealed": r.sealed_at is not None} for r in rows])


def _month(rt: Runtime, db, user, kind: str, key: str):
    selection = _selection(rt, db, user, kind, key)
    found = figures(db, selection, [month_arg(db)])[0]
    return jsonify(selection=_described(selection), **month_document(found))


def _trend(rt: Runtime, db, user, kind: str, key: str):
    selection = _selection(rt, db, user, kind, key)
    now = rt.clock.utcnow()
    end = Month.parse(request.args["end"], now=now) if request.args.get("end") else Month.current(now)
    points = trend(db, selection, end, count_arg())
    return jsonify(selection=_described(selection), items=[asdict(p) for p in points])


def _months(rt: Runtime, db) -> list[Month]:
    """``?year=YYYY`` (its months so far) or ``?month=YYYY-MM`` (default: the latest aggregated), not both."""
    year = request.args.get("year")
    if year and request.args.get("month"):
        raise InvalidInput(_("Indiquez un mois ou une année, pas les deux."))
    now = rt.clock.utcnow()
    return months_of_year(parse_year(year, now=now), now) if year else [month_arg(db)]


def _counter(rt: Runtime, db, user, kind: str, key: str):
    selection = _selection(rt, db, user, kind, key)
    return jsonify(platform_report(figures(db, selection, _months(rt, db)), selection, now=rt.clock.utcnow()))


def _titles(rt: Runtime, db, user, kind: str, key: str):
    """The suppliers' most used databases, titles or items (COUNTER DR, TR, IR), attributed like the platform report."""
    from ...services.counter import titles as service

    selection = _selection(rt, db, user, kind, key)
    chosen = _months(rt, db)
    period = str(parse_year(request.args["year"], now=rt.clock.utcnow())) if request.args.get("year") else str(chosen[0])
    report_id = service.report_arg(request.args.get("report"))
    metric = service.metric_arg(report_id, request.args.get("metric"))
    limit = count_arg("limit", default=service.TOP, maximum=10000)
    lines = service.library_titles(db, service.selection_libraries(db, selection), [str(m) for m in chosen],
                                   report_id, metric=metric, limit=limit)
    body = service.document(lines, report_id, selection=selection.slug, period=period, metric=metric)
    return jsonify(body | {"selection": _described(selection)})


def _route(kind: str, param: str, answer: Callable):
    @api_view
    def view(rt: Runtime, db, user, **kwargs):
        return answer(rt, db, user, kind, kwargs[param])

    return view


# One route per path (no converter over both kinds), so that each maps to one OpenAPI path:
# /libraries/<code>, /networks/<slug>, each also with /trend, /counter and /titles (endpoints library_month, …).
for _kind, _singular, _param in (("libraries", "library", "code"), ("networks", "network", "slug")):
    for _suffix, _name, _answer in (("", "month", _month), ("/trend", "trend", _trend), ("/counter", "counter", _counter),
                                    ("/titles", "titles", _titles)):
        api_bp.add_url_rule(f"/{_kind}/<{_param}>{_suffix}", f"{_singular}_{_name}", _route(_kind, _param, _answer),
                            methods=["GET"])
