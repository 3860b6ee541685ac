"""JSON endpoints under /api/v1/stats: the same figures as the pages, scoped by the token's owner."""

from __future__ import annotations

from dataclasses import asdict

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
from . import api_bp
from .guard import Unauthorized, api_view, count_arg, library_in_scope, month_arg, network_in_scope


@api_bp.errorhandler(Unauthorized)
def unauthorized(exc: Unauthorized):
    response = jsonify(error=exc.code, message=exc.message)
    response.status_code = 401
    challenge = 'Bearer realm="sesame"'
    if exc.code == "token_expired":
        challenge += ', error="invalid_token", error_description="The access token expired"'
    response.headers["WWW-Authenticate"] = challenge
    return response


@api_bp.after_request
def no_store(response):
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _described(selection: Selection) -> dict:
    return {"network": selection.network.slug if selection.network else None,
            "library": selection.library.code if selection.library else None, "label": selection.label}


def _selection(rt, db, user, kind: str, key: str) -> Selection:
    if kind == "libraries":
        lib = library_in_scope(rt, db, user, key, "stats.api")
        return Selection(network=lib.partner.network, library=lib)
    return Selection(network=network_in_scope(rt, db, user, key, "stats.api"))


@api_bp.get("/months")
@api_view
def months(rt, db, user):
    rows = db.scalars(select(StatsMonth).order_by(StatsMonth.month.desc()))
    return jsonify(items=[{"month": r.month, "computed_at": iso_utc(r.computed_at),
                           "final": r.final, "sealed": r.sealed_at is not None} for r in rows])


def _month(rt, db, user, kind: str, key: str):
    selection = _selection(rt, db, user, kind, key)
    found = figures(db, selection, [month_arg(db)])[0]
    return jsonify(selection=_described(selection), **month_document(found))


def _trend(rt, db, user, kind: str, key: str):
    selection = _selection(rt, db, user, kind, key)
    now = rt.clock.utcnow()
    end = Month.parse(request.args["end"], now=now) if request.args.get("end") else Month.current(now)
    points = trend(db, selection, end, count_arg())
    return jsonify(selection=_described(selection), items=[asdict(p) for p in points])


def _counter(rt, db, user, kind: str, key: str):
    selection = _selection(rt, db, user, kind, key)
    year = request.args.get("year")
    if year and request.args.get("month"):
        raise InvalidInput(_("Indiquez un mois ou une année, pas les deux."))
    now = rt.clock.utcnow()
    chosen = months_of_year(parse_year(year, now=now), now) if year else [month_arg(db)]
    return jsonify(platform_report(figures(db, selection, chosen), selection, now=now))


# One route per path (no converter over both kinds), so that each maps to one OpenAPI path.
@api_bp.get("/libraries/<code>")
@api_view
def library_month(rt, db, user, code):
    return _month(rt, db, user, "libraries", code)


@api_bp.get("/networks/<slug>")
@api_view
def network_month(rt, db, user, slug):
    return _month(rt, db, user, "networks", slug)


@api_bp.get("/libraries/<code>/trend")
@api_view
def library_trend(rt, db, user, code):
    return _trend(rt, db, user, "libraries", code)


@api_bp.get("/networks/<slug>/trend")
@api_view
def network_trend(rt, db, user, slug):
    return _trend(rt, db, user, "networks", slug)


@api_bp.get("/libraries/<code>/counter")
@api_view
def library_counter(rt, db, user, code):
    return _counter(rt, db, user, "libraries", code)


@api_bp.get("/networks/<slug>/counter")
@api_view
def network_counter(rt, db, user, slug):
    return _counter(rt, db, user, "networks", slug)
