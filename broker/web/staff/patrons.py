"""Finding a patron (by card or name) and their membership page with its history."""

from __future__ import annotations

from flask import render_template, request

from ...db.models import Library
from ...domain.memberships import MembershipState
from ...errors import InvalidInput
from ...services import staff_desk
from . import bp
from .guard import staff_view


@bp.route("/patrons", methods=["GET", "POST"])
@staff_view
def patrons(rt, db, user):
    """Search form; posted, so that a card number never lands in a URL or an access log."""
    libs = staff_desk.libraries_in_scope(db, user)
    results = None
    error = None
    query = ""
    chosen = ""
    if request.method == "POST":
        query = request.form.get("q", "")[:200]
        chosen = request.form.get("library", "")
        lib = staff_desk.library_for(rt, db, user, chosen, "patron.search") if chosen else None
        try:
            results = staff_desk.search(rt, db, user, request.form.get("q", ""), lib)
        except InvalidInput as exc:
            error = exc.message
    status = 400 if error else 200
    return render_template("staff/patrons.html", libs=libs, results=results, error=error, query=query,
                           chosen=chosen), status


@bp.get("/memberships/<int:membership_id>")
@staff_view
def membership(rt, db, user, membership_id):
    m = staff_desk.membership_for(rt, db, user, membership_id)
    lib = db.get(Library, m.library_id)
    sigb = staff_desk.lookup_pending(rt, db, lib, m) if m.state == MembershipState.PENDING else None
    from .person_links import linked_cards_context

    return render_template("staff/membership.html", m=m, patron=m.patron, lib=lib, sigb=sigb,
                           **linked_cards_context(db, user, m))
