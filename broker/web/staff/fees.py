"""The year's fees of the admin's networks: the table, and CSV and XLSX downloads."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from flask import Response, render_template, request
from flask_babel import gettext as _

from ...errors import InvalidInput
from ...services import fee_exports
from ...services.network import fees_for_year
from . import bp
from .admin_guard import admin_networks, admin_view, networks_of

if TYPE_CHECKING:
    from ...runtime import Runtime

TYPES = {"csv": "text/csv; charset=utf-8",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def year_arg(today: date) -> int:
    """The ``year`` asked for, or this year (of ``today``)."""
    raw = request.args.get("year", "")
    if raw == "":
        return today.year
    if not raw.isdigit() or not 1900 <= int(raw) <= 2200:
        raise InvalidInput(_("Année invalide : attendu un nombre entre 1900 et 2200."), code="bad_year")
    return int(raw)


@bp.get("/fees")
@admin_view("fees.view")
def fees(rt: Runtime, db, user):
    year = year_arg(rt.clock.today())
    lines = fees_for_year(db, year, network_ids=admin_networks(user))
    return render_template("staff/fees.html", year=year, lines=lines, total=fee_exports.total(lines),
                           networks=networks_of(db, user))


@bp.get("/fees.<any(csv, xlsx):fmt>")
@admin_view("fees.export")
def fees_export(rt: Runtime, db, user, fmt):
    year = year_arg(rt.clock.today())
    lines = fees_for_year(db, year, network_ids=admin_networks(user))
    body = fee_exports.to_csv(lines, year) if fmt == "csv" else fee_exports.to_xlsx(lines, year)
    return Response(body, mimetype=TYPES[fmt].split(";")[0], headers={
        "Content-Type": TYPES[fmt], "Content-Disposition": f'attachment; filename="participations-{year}.{fmt}"'})
