"""A patron's linked cards on the staff membership page: a count for everyone, a link form for network admins.

A referent learns only how many other cards the person has, never where. A
network admin who has checked both cards with the patron links the other one
(a library of their networks); the link is audited.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _

from ...db.models import Library
from ...services import audit, patrons, person_admin, persons, staff, staff_desk
from . import bp
from .guard import staff_view

if TYPE_CHECKING:
    from ...runtime import Runtime

MESSAGES = {
    persons.LinkProblem.SAME_CARD: lambda: _("C'est la carte de cet usager : saisissez son autre carte."),
    persons.LinkProblem.TAKEN: lambda: _("Cette carte est déjà liée aux cartes d'une autre personne."),
    persons.LinkProblem.ALREADY: lambda: _("Ces deux cartes sont déjà liées."),
    persons.LinkProblem.LIMIT: lambda: _("Cet usager a déjà le nombre maximum de cartes liées."),
    persons.LinkProblem.NOT_REGISTERED: lambda: _("Cette carte n'est pas inscrite : inscrivez-la d'abord."),
}


def _admin_libraries(db, user, lib: Library) -> list[Library]:
    """The libraries where a network admin covering ``lib`` may pick the other card (none for a referent)."""
    scope = staff.scope_of(user)
    if lib.partner.network_id not in scope.admin_networks:
        return []
    return [x for x in staff_desk.libraries_in_scope(db, user) if x.partner.network_id in scope.admin_networks]


def linked_cards_context(db, user, m) -> dict:
    lib = db.get(Library, m.library_id)
    return {"other_cards": person_admin.other_cards(db, m.patron_id),
            "link_libraries": _admin_libraries(db, user, lib)}


@bp.post("/memberships/<int:membership_id>/link-card")
@staff_view
def link_card(rt: Runtime, db, user, membership_id):
    m = staff_desk.membership_for(rt, db, user, membership_id, "person.link")
    back = url_for("staff.membership", membership_id=m.id)
    allowed = {x.code: x for x in _admin_libraries(db, user, db.get(Library, m.library_id))}
    if not allowed:
        raise staff_desk.deny(user, "person.link", f"membership/{m.id}")
    if request.form.get("checked") != "yes":
        flash(_("Cochez la case pour confirmer que vous avez vérifié les deux cartes avec l'usager."), "error")
        return redirect(back, 303)
    other_lib = allowed.get(request.form.get("library", ""))
    card = request.form.get("card", "").strip()
    if other_lib is None or not card or len(card) > 64:
        flash(_("Choisissez la bibliothèque de l'autre carte et saisissez son numéro."), "error")
        return redirect(back, 303)
    other = patrons.find(rt, db, other_lib, card, history=False)
    if other is None or other.erased_at is not None:
        flash(_("Aucun usager inscrit avec cette carte dans cette bibliothèque."), "error")
        return redirect(back, 303)
    target = f"{m.patron.library.code}/{m.patron.card_hint}"
    try:
        persons.link(rt, db, m.patron, other, actor=user.email)
    except persons.LinkError as exc:
        db.rollback()
        audit.record_now(rt, user.email, "person.link", target, outcome="refused", problem=exc.problem.value)
        flash(MESSAGES[exc.problem](), "error")
        return redirect(back, 303)
    audit.record(rt, db, user.email, "person.link", target, card=f"{other_lib.code}/{other.card_hint}")
    flash(_("Les deux cartes sont liées : les fournisseurs voient désormais une seule personne."), "success")
    return redirect(back, 303)
