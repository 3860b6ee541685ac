"""The members of a library as CSV, safe to open in a spreadsheet.

French readers get the French convention (``;``, French headings and states,
dates in the network's time zone); ``?csv=en`` (or an English page) gives the
English one (``,``, the columns' keys, state codes, ISO 8601). See
``services.csvstyle``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Response

from ...db.models import Membership
from ...services import audit, csvstyle, staff_desk
from ..templating import requested_csv_style
from . import bp
from .guard import staff_view

if TYPE_CHECKING:
    from ...runtime import Runtime

COLUMNS = ("membership", "card_hint", "name", "email", "birth_year", "category", "card_expires", "state",
           "registered_at", "updated_at")
FRENCH_HEADINGS = ("Inscription", "Carte (fin du numéro)", "Nom", "E-mail", "Année de naissance", "Catégorie",
                   "Carte valable jusqu'au", "État", "Inscrit le", "Modifié le")
#: the states as the staff pages name them in French
FRENCH_STATES = {"pending": "En attente", "active": "Active", "refused": "Refusée", "suspended": "Suspendue",
                 "expired": "Expirée", "closed": "Clôturée"}


def cell(value) -> str:
    """A CSV cell a spreadsheet will not run: text starting like a formula gets a leading quote (OWASP)."""
    return csvstyle.text_cell(value)


def members_csv(rows: list[Membership], how: csvstyle.CsvStyle = csvstyle.ENGLISH,
                zone: str = "Europe/Paris") -> str:
    header = FRENCH_HEADINGS if how.french else COLUMNS
    lines = []
    for m in rows:
        p = m.patron
        state = FRENCH_STATES.get(m.state, m.state) if how.french else m.state
        lines.append((m.id, p.card_hint, p.display_name, p.email, p.birth_year, p.category, p.card_expires, state,
                      m.created_at, m.updated_at))
    return csvstyle.write(header, lines, how, zone)


@bp.get("/libraries/<code>/members.csv")
@staff_view
def export_members(rt: Runtime, db, user, code):
    how = requested_csv_style()
    lib = staff_desk.library_for(rt, db, user, code, "members.export")
    rows, total = staff_desk.page_of(db, lib, None, limit=1_000_000, offset=0)
    audit.record(rt, db, user.email, "members.export", lib.code, count=total)
    filename = f"{'membres' if how.french else 'members'}-{lib.code}-{rt.clock.today().isoformat()}.csv"
    return Response(members_csv(rows, how, rt.settings.timezone), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
