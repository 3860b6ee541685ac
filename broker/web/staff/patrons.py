"""Finding a patron (by card or name) and their membership page with its history."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import make_response, render_template, request

from ...db.models import Library
from ...domain.memberships import MembershipState
from ...errors import InvalidInput
from ...services import staff_desk
from ..errors import message_of
from . import bp
from .guard import staff_view

if TYPE_CHECKING:
    from ...runtime import Runtime


@bp.route("/patrons", methods=["GET", "POST"])
@staff_view
def patrons(rt: Runtime, db, user):
    """Search form, sent as a GET so that a search can be bookmarked and shared between colleagues.

    A search posted by an older form still works. The pages are ``no-store`` and send no referrer, so a
    card number typed here goes no further than the server's own access log.
    """
    libs = staff_desk.libraries_in_scope(db, user)
    results = None
    error = None
    values = request.form if request.method == "POST" else request.args
    query = values.get("q", "")[:200]
    chosen = values.get("library", "")
    if request.method == "POST" or "q" in values:
        lib = staff_desk.library_for(rt, db, user, chosen, "patron.search") if chosen else None
        try:
            results = staff_desk.search(rt, db, user, values.get("q", ""), lib)
        except InvalidInput as exc:
            error = message_of(exc)
    status = 400 if error else 200
    response = make_response(render_template("staff/patrons.html", libs=libs, results=results, error=error,
                                             query=query, chosen=chosen), status)
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.get("/memberships/<int:membership_id>")
@staff_view
def membership(rt: Runtime, db, user, membership_id):
    return render_membership(rt, db, user, membership_id)


def render_membership(rt: Runtime, db, user, membership_id: int, errors: dict[str, str] | None = None, status: int = 200):
    """A membership's page; ``errors`` maps a field id to its message (shown in the page's error summary)."""
    m = staff_desk.membership_for(rt, db, user, membership_id)
    lib = db.get(Library, m.library_id)
    sigb = staff_desk.lookup_pending(rt, db, lib, m) if m.state == MembershipState.PENDING else None
    from .person_links import linked_cards_context

    return render_template("staff/membership.html", m=m, patron=m.patron, lib=lib, sigb=sigb,
                           errors=errors or {}, **linked_cards_context(db, user, m)), status
