"""The members of a library as CSV, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io

from flask import Response

from ...clock import today
from ...db.models import Membership
from ...services import audit, staff_desk
from . import bp
from .guard import staff_view

COLUMNS = ("membership", "card_hint", "name", "email", "birth_year", "category", "card_expires", "state",
           "registered_at", "updated_at")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value) -> str:
    """A CSV cell a spreadsheet will not run: text starting like a formula gets a leading quote (OWASP)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def members_csv(rows: list[Membership]) -> str:
    out = io.StringIO()
    out.write("\ufeff")  # spreadsheets then read the accents right
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for m in rows:
        p = m.patron
        writer.writerow([cell(v) for v in (
            m.id, p.card_hint, p.display_name, p.email, p.birth_year, p.category,
            p.card_expires.isoformat() if p.card_expires else "", m.state,
            m.created_at.isoformat() if m.created_at else "", m.updated_at.isoformat() if m.updated_at else "",
        )])
    return out.getvalue()


@bp.get("/libraries/<code>/members.csv")
@staff_view
def export_members(rt, db, user, code):
    lib = staff_desk.library_for(rt, db, user, code, "members.export")
    rows, total = staff_desk.page_of(db, lib, None, limit=1_000_000, offset=0)
    audit.record(rt, db, user.email, "members.export", lib.code, count=total)
    filename = f"membres-{lib.code}-{today().isoformat()}.csv"
    return Response(members_csv(rows), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
