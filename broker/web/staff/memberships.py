"""Dashboard, a library's page, the pending queue with SIGB lookups, and the decisions."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from ...db.models import Library
from ...domain.memberships import Transition
from ...errors import Conflict, InvalidInput, NotFound
from ...mail import outbox
from ...services import staff, staff_desk
from ..errors import message_of
from . import bp
from .guard import STATE_LABELS, staff_next, staff_view

if TYPE_CHECKING:
    from ...runtime import Runtime

PAGE = 50
QUEUE_PAGE = 25  # each row may ask the SIGB (cached), so the queue pages are shorter
DONE = {
    Transition.APPROVE: lambda: _("Inscription validée : l'usager est prévenu par e-mail."),
    Transition.REFUSE: lambda: _("Inscription refusée : l'usager est prévenu par e-mail."),
    Transition.SUSPEND: lambda: _("Accès suspendu : l'usager est prévenu par e-mail."),
    Transition.REACTIVATE: lambda: _("Accès rétabli : l'usager est prévenu par e-mail."),
}
ACTIONS = {"validate": Transition.APPROVE, "refuse": Transition.REFUSE, "suspend": Transition.SUSPEND,
           "reactivate": Transition.REACTIVATE}


def page_number() -> int:
    raw = request.args.get("page", "1")
    if not raw.isdigit() or not 1 <= int(raw) <= 100_000:
        raise InvalidInput(_("Numéro de page invalide."), code="bad_page")
    return int(raw)


def form_int(name: str) -> int:
    raw = request.form.get(name, "")
    if not raw.isdigit() or len(raw) > 12:
        raise InvalidInput(_("Le champ %(name)s doit être un nombre entier.", name=name), code="bad_field")
    return int(raw)


@bp.get("/")
@staff_view
def dashboard(rt: Runtime, db, user):
    libs = staff_desk.libraries_in_scope(db, user)
    counts = staff_desk.counts_for(db, [lib.id for lib in libs])
    totals = {state: sum(c[state] for c in counts.values()) for state in next(iter(counts.values()), {})}
    networks = staff.scope_of(user).admin_networks
    failed_mail = outbox.failed_summary(db, networks) if networks else (0, [])
    return render_template("staff/dashboard.html", libs=libs, counts=counts, totals=totals, failed_mail=failed_mail)


@bp.get("/libraries/<code>/")
@staff_view
def library(rt: Runtime, db, user, code):
    lib = staff_desk.library_for(rt, db, user, code)
    state = request.args.get("state") or None
    page = page_number()
    rows, total = staff_desk.page_of(db, lib, state, limit=PAGE, offset=(page - 1) * PAGE)
    counts = staff_desk.counts_for(db, [lib.id])[lib.id]
    return render_template("staff/library.html", lib=lib, rows=rows, total=total, counts=counts, state=state,
                           page=page, pages=max(1, -(-total // PAGE)))


def _render_queue(rt: Runtime, db, user, lib, typed: dict[int, staff_desk.SigbView] | None = None, status: int = 200,
                  errors: dict[str, str] | None = None):
    page = page_number()
    rows, total = staff_desk.page_of(db, lib, "pending", limit=QUEUE_PAGE, offset=(page - 1) * QUEUE_PAGE)
    sigb = dict(typed or {})
    # the page comes at once; each card's SIGB check follows (queue.js asks queue_sigb for each),
    # or, without a script, for the cards asked with ?check=<id> or ?check=all
    check = request.args.get("check", "")
    for m in rows:
        if m.id not in sigb and (check == "all" or check == str(m.id)):
            sigb[m.id] = staff_desk.lookup_pending(rt, db, lib, m)
    return render_template("staff/queue.html", lib=lib, rows=rows, total=total, sigb=sigb, page=page,
                           pages=max(1, -(-total // QUEUE_PAGE)), errors=errors or {}), status


@bp.get("/libraries/<code>/queue")
@staff_view
def queue(rt: Runtime, db, user, code):
    lib = staff_desk.library_for(rt, db, user, code, "queue.view")
    return _render_queue(rt, db, user, lib)


@bp.get("/libraries/<code>/queue/<int:membership_id>/sigb")
@staff_view
def queue_sigb(rt: Runtime, db, user, code, membership_id):
    """One pending card's SIGB check, as JSON: its status and the HTML of its column (for queue.js)."""
    lib = staff_desk.library_for(rt, db, user, code, "queue.view")
    membership = staff_desk.membership_for(rt, db, user, membership_id, "queue.view")
    if membership.library_id != lib.id or membership.state != "pending":
        raise NotFound(_("Cette inscription n'est pas en attente dans cette bibliothèque."))
    view = staff_desk.lookup_pending(rt, db, lib, membership)
    html = render_template("staff/_queue_sigb.html", lib=lib, m=membership, p=membership.patron, view=view)
    return jsonify({"status": view.status, "html": html}), 200, {"Cache-Control": "no-store"}


@bp.post("/libraries/<code>/queue/lookup")
@staff_view
def queue_lookup(rt: Runtime, db, user, code):
    """Look a card up for a registration whose number Sésame did not keep (e.g. imported)."""
    lib = staff_desk.library_for(rt, db, user, code, "queue.lookup")
    membership = staff_desk.membership_for(rt, db, user, form_int("membership"), "membership.lookup")
    if membership.library_id != lib.id:
        raise NotFound(_("Cette inscription n'est pas dans cette bibliothèque."))
    try:
        view = staff_desk.lookup_typed(rt, db, user, lib, membership, request.form.get("card", ""))
    except InvalidInput as exc:
        flash(message_of(exc), "error")
        return redirect(url_for("staff.queue", code=lib.code), 303)
    return _render_queue(rt, db, user, lib, {membership.id: view})


@bp.post("/libraries/<code>/queue/validate")
@staff_view
def queue_bulk(rt: Runtime, db, user, code):
    lib = staff_desk.library_for(rt, db, user, code, "membership.approve")
    return approve_selection(rt, db, user, url_for("staff.queue", code=lib.code), lambda num: ngettext(
        "%(num)d inscription validée ; l'usager est prévenu par e-mail.",
        "%(num)d inscriptions validées ; les usagers sont prévenus par e-mail.", num))


def approve_selection(rt: Runtime, db, user, back: str, approved: Callable[[int], str]):
    """Approve the memberships ticked in the form (``ids``), say how many ``approved(count)`` and how many were
    left as they were (decided meanwhile), then go ``back``."""
    raw = request.form.getlist("ids")
    if any(not v.isdigit() or len(v) > 12 for v in raw):
        raise InvalidInput(_("Sélection invalide."), code="bad_selection")
    try:
        outcome = staff_desk.approve_many(rt, db, user, [int(v) for v in raw])
    except InvalidInput as exc:
        flash(message_of(exc), "error")
        return redirect(back, 303)
    flash(approved(len(outcome.approved)), "success")
    if outcome.skipped:
        flash(ngettext("%(num)d inscription déjà traitée a été laissée telle quelle.",
                       "%(num)d inscriptions déjà traitées ont été laissées telles quelles.", len(outcome.skipped)),
              "error")
    return redirect(back, 303)


REASON_PROBLEMS = {"reason_required", "reason_too_long"}


def _reason_error(rt: Runtime, db, user, membership_id: int, action: str, back: str, message: str):
    """The page the decision came from, again, its reason field in error and named in the error summary."""
    db.rollback()
    membership = staff_desk.membership_for(rt, db, user, membership_id)
    lib = staff_desk.library_for(rt, db, user, db.get(Library, membership.library_id).code)
    if back.startswith(url_for("staff.queue", code=lib.code)):
        return _render_queue(rt, db, user, lib, status=400, errors={f"reason-{membership_id}": message})
    from .patrons import render_membership

    return render_membership(rt, db, user, membership_id, errors={f"reason-{action}": message}, status=400)


@bp.post("/memberships/<int:membership_id>/<action>")
@staff_view
def decide(rt: Runtime, db, user, membership_id, action):
    transition = ACTIONS.get(action)
    if transition is None:
        abort(404)
    back = staff_next(request.form.get("back") or url_for("staff.membership", membership_id=membership_id))
    try:
        staff_desk.decide(rt, db, user, membership_id, transition, request.form.get("reason", ""))
    except NotFound:
        raise
    except Conflict as exc:
        message = message_of(exc)
        if exc.code == "invalid_transition":  # said with the state's name, not its code
            current = staff_desk.membership_for(rt, db, user, membership_id).state
            message = _("Impossible : cette inscription est dans l'état « %(state)s ».",
                        state=STATE_LABELS.get(current, current))
        flash(message, "error")
        return redirect(back, 303)
    except InvalidInput as exc:
        if exc.code in REASON_PROBLEMS:
            return _reason_error(rt, db, user, membership_id, action, back, message_of(exc))
        flash(message_of(exc), "error")
        return redirect(back, 303)
    flash(DONE[transition](), "success")
    return redirect(back, 303)
