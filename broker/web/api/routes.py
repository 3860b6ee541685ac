"""API routes: libraries, memberships, counts, SIGB lookups and decisions — scoped and audited like the pages."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import current_app, jsonify, request
from flask_babel import gettext as _

from ...db.models import Library, Membership
from ...domain.memberships import MembershipState, Transition
from ...errors import InvalidInput, ServiceUnavailable
from ...services import patrons, staff, staff_desk
from . import bp
from .auth import api_view
from .bodies import int_list, json_body, query_int
from .spec import openapi_document, routed_paths

if TYPE_CHECKING:
    from ...runtime import Runtime

iso = staff_desk.iso


def library_json(lib: Library, counts: dict[str, int] | None = None) -> dict:
    out: dict[str, Any] = {"code": lib.code, "name": lib.name, "commune": lib.commune, "network": lib.partner.network.slug,
           "registration": lib.registration}
    if counts is not None:
        out["counts"] = counts
    return out


def membership_json(m: Membership, lib_code: str, *, history: bool = False) -> dict:
    p = m.patron
    out = {"id": m.id, "library": lib_code, "state": m.state, "card_hint": p.card_hint,
           "name": p.display_name, "email": p.email, "birth_year": p.birth_year,
           "card_expires": iso(p.card_expires), "created_at": iso(m.created_at), "updated_at": iso(m.updated_at)}
    if history:
        out["history"] = [{"at": iso(h.at), "actor": h.actor, "transition": h.transition,
                           "from_state": h.from_state, "to_state": h.to_state, "reason": h.reason or ""}
                          for h in m.history]
    return out


def _code_of(db, m: Membership) -> str:
    return db.get(Library, m.library_id).code


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document(routed_paths(current_app.url_map)))


@bp.get("/me")
@api_view
def me(rt: Runtime, db, user):
    return jsonify(email=user.email, name=user.name, admin=staff.is_admin(user),
                   libraries=[lib.code for lib in staff_desk.libraries_in_scope(db, user)])


@bp.get("/libraries")
@api_view
def libraries(rt: Runtime, db, user):
    libs = staff_desk.libraries_in_scope(db, user)
    counts = staff_desk.counts_for(db, [lib.id for lib in libs])
    return jsonify(items=[library_json(lib, counts[lib.id]) for lib in libs])


@bp.get("/libraries/<code>/counts")
@api_view
def counts(rt: Runtime, db, user, code):
    lib = staff_desk.library_for(rt, db, user, code, "library.counts")
    return jsonify(library=lib.code, counts=staff_desk.counts_for(db, [lib.id])[lib.id])


@bp.get("/libraries/<code>/memberships")
@api_view
def memberships(rt: Runtime, db, user, code):
    lib = staff_desk.library_for(rt, db, user, code, "membership.list")
    state = request.args.get("state") or None
    limit = query_int("limit", 100, 1, 500)
    offset = query_int("offset", 0, 0, 10_000_000)
    rows, total = staff_desk.page_of(db, lib, state, limit=limit, offset=offset)
    return jsonify(items=[membership_json(m, lib.code) for m in rows], total=total, limit=limit, offset=offset)


@bp.post("/libraries/<code>/lookup")
@api_view
def lookup(rt: Runtime, db, user, code):
    """What the SIGB and Sésame know of a card (posted, so the number stays out of URLs and logs)."""
    lib = staff_desk.library_for(rt, db, user, code, "card.lookup")
    body = json_body({"card": str}, required=("card",))
    card = body["card"].strip()
    if not card or len(card) > 64:
        raise InvalidInput(_("Le numéro de carte doit faire de 1 à 64 caractères."), code="bad_card")
    view = staff_desk.lookup_card(rt, db, user, lib, card)
    if view.status == "unavailable":
        raise ServiceUnavailable(_("Le SIGB de la bibliothèque ne répond pas ; réessayez plus tard."),
                                 code="sigb_unavailable")
    patron = patrons.find(rt, db, lib, card)
    membership = patron.membership if patron is not None else None
    return jsonify(library=lib.code, card_hint=patrons.digest_for(rt, lib, card)[1], sigb=view.as_json(),
                   membership=membership_json(membership, lib.code) if membership else None)


@bp.get("/memberships/<int:membership_id>")
@api_view
def membership(rt: Runtime, db, user, membership_id):
    m = staff_desk.membership_for(rt, db, user, membership_id)
    return jsonify(membership_json(m, _code_of(db, m), history=True))


@bp.get("/memberships/<int:membership_id>/lookup")
@api_view
def membership_lookup(rt: Runtime, db, user, membership_id):
    """The SIGB's view of a pending registration (Sésame keeps its card number until the decision)."""
    m = staff_desk.membership_for(rt, db, user, membership_id, "membership.lookup")
    if m.state != MembershipState.PENDING:
        raise InvalidInput(_("Seule une inscription en attente peut être vérifiée ainsi ; "
                             "pour les autres, utilisez /libraries/{code}/lookup avec le numéro de carte."),
                           code="not_pending")
    lib = db.get(Library, m.library_id)
    view = staff_desk.lookup_pending(rt, db, lib, m)
    if view.status == "unavailable":
        raise ServiceUnavailable(_("Le SIGB de la bibliothèque ne répond pas ; réessayez plus tard."),
                                 code="sigb_unavailable")
    return jsonify(membership=membership_json(m, lib.code), sigb=view.as_json())


def _decision(transition: Transition):
    """``POST /memberships/<id>/<name>``: the transition, with a reason when it needs one."""

    @api_view
    def decide(rt: Runtime, db, user, membership_id):
        required = ("reason",) if transition in staff_desk.REASON_REQUIRED else ()
        body = json_body({"reason": str}, required=required)
        m = staff_desk.decide(rt, db, user, membership_id, transition, body.get("reason", ""))
        return jsonify(membership_json(m, _code_of(db, m), history=True))

    return decide


for _name, _transition in (("validate", Transition.APPROVE), ("refuse", Transition.REFUSE),
                           ("suspend", Transition.SUSPEND), ("reactivate", Transition.REACTIVATE)):
    bp.add_url_rule(f"/memberships/<int:membership_id>/{_name}", _name, _decision(_transition), methods=["POST"])


@bp.post("/memberships/validate")
@api_view
def validate_many(rt: Runtime, db, user):
    body = json_body({"ids": list}, required=("ids",))
    ids = int_list(body["ids"], "ids", staff_desk.MAX_BULK)
    outcome = staff_desk.approve_many(rt, db, user, ids)
    return jsonify(approved=outcome.approved, skipped=outcome.skipped)
