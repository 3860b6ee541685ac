"""One queue for the network: the pending registrations of every library of the admin's networks, oldest first."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ...db.models import Library, Membership, Partner
from ...domain.memberships import MembershipState
from ...errors import InvalidInput
from ...services import staff_desk
from . import bp
from .admin_guard import admin_networks, admin_view
from .memberships import QUEUE_PAGE, approve_selection, page_number

if TYPE_CHECKING:
    from ...runtime import Runtime


@bp.get("/pending")
@admin_view("queue.view")
def network_pending(rt: Runtime, db, user):
    networks = admin_networks(user)
    libs = list(db.scalars(select(Library).join(Partner).where(Partner.network_id.in_(networks))
                           .options(selectinload(Library.partner)).order_by(Library.name)))
    by_id = {lib.id: lib for lib in libs}
    chosen = request.args.get("library") or ""
    ids = list(by_id)
    if chosen:
        lib = next((lib for lib in libs if lib.code == chosen), None)
        if lib is None:  # unknown, or another network's: said the same way as a library page would
            staff_desk.library_for(rt, db, user, chosen[:64], "queue.view")
            raise InvalidInput(_("Bibliothèque inconnue : %(code)s", code=chosen[:64]), code="unknown_library")
        ids = [lib.id]
    where = [Membership.library_id.in_(ids), Membership.state == MembershipState.PENDING.value]
    total = db.scalar(select(func.count()).select_from(Membership).where(*where)) or 0
    page = page_number()
    rows = list(db.scalars(select(Membership).where(*where).options(selectinload(Membership.patron))
                           .order_by(Membership.created_at, Membership.id).limit(QUEUE_PAGE)
                           .offset((page - 1) * QUEUE_PAGE))) if ids else []
    sigb = {m.id: staff_desk.lookup_pending(rt, db, by_id[m.library_id], m) for m in rows}
    return render_template("staff/network_pending.html", rows=rows, total=total, libs=libs, by_id=by_id,
                           chosen=chosen, sigb=sigb, page=page, pages=max(1, -(-total // QUEUE_PAGE)))


@bp.post("/pending/validate")
@admin_view("membership.approve")
def network_pending_bulk(rt: Runtime, db, user):
    back = url_for("staff.network_pending", library=request.form.get("library") or None)
    return approve_selection(rt, db, user, back, lambda num: ngettext(
        "%(num)d inscription validée ; l'usager est prévenu par courriel.",
        "%(num)d inscriptions validées ; les usagers sont prévenus par courriel.", num))
