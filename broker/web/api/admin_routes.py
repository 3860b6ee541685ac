"""Network administration in the JSON API: partners, agreements and fees (network admins only).

Served by a blueprint of its own under /api/v1, authenticated like the rest of
the API. A referent's token, or an admin's outside their networks, gets 403,
recorded in the audit log as ``denied``. Bodies use the CLI's names; an
input error answers 400 with the field's name in ``field``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Blueprint, jsonify, request
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ...app import runtime_of
from ...db.models import Partner
from ...errors import NotFound
from ...services import network as net
from ...services import partners as svc
from ...services import staff, staff_desk
from ...services.field_errors import FieldError
from ...services.network import fees_for_year
from .auth import api_view
from .bodies import json_body

if TYPE_CHECKING:
    from ...runtime import Runtime

#: mounted under the API blueprint (``api.mount``): /api/v1 + these paths, the API's guard and error shape
admin_bp = Blueprint("admin_api", __name__)


# -- helpers ---------------------------------------------------------------------------------
def admin_only(user, action: str, target: str = "") -> frozenset[int]:
    """The admin's network ids; a 403 recorded as ``denied`` for anyone else."""
    networks = staff.scope_of(user).admin_networks
    if not networks:
        raise staff_desk.deny(user, action, target or request.path[:200])
    return networks


#: the API's JSON body parser (kept under this name for the administration routes)
body = json_body


def text_field(data: dict, name: str) -> str | None:
    value = data.get(name)
    if value is not None and not isinstance(value, str):
        raise FieldError(name, "wrong_type", f"{name}: expected a string", name=name)
    return value


def partner_json(db, partner: Partner, *, detail: bool = False) -> dict:
    found = svc.state_of(partner, runtime_of().clock.today())
    out = {"slug": partner.slug, "name": partner.name, "kind": partner.kind, "population": partner.population,
           "network": partner.network.slug, "state": found.state,
           "agreements": [{"id": a.id, "start": a.start.isoformat(), "end": a.end.isoformat(),
                           "rate": str(a.rate.normalize())} for a in sorted(partner.agreements, key=lambda a: a.start)]}
    if detail:
        changes = svc.history(db, partner)
        for entry in out["agreements"]:
            entry["history"] = [{"kind": h.kind, "at": staff_desk.iso(h.at), "actor": h.actor, "before": h.before,
                                 "after": h.after, "note": h.note} for h in changes[entry["id"]]]
        out["populations"] = {str(y): n for y, n in sorted(svc.populations(db, partner).items())}
    return out


def partner_for(db, user, slug: str, action: str) -> Partner:
    networks = admin_only(user, action, slug[:64])
    try:
        partner = svc.load_partner(db, slug)
    except NotFound:
        raise NotFound(_("Partenaire inconnu : %(slug)s", slug=slug[:64]), code="unknown_partner") from None
    if partner.network_id not in networks:
        raise staff_desk.deny(user, action, slug)
    return partner


# -- routes ------------------------------------------------------------------------------------
@admin_bp.get("/partners")
@api_view
def partners(rt: Runtime, db, user):
    networks = admin_only(user, "partner.list")
    rows = db.scalars(select(Partner).where(Partner.network_id.in_(networks)).options(
        selectinload(Partner.agreements), selectinload(Partner.network)).order_by(Partner.slug))
    return jsonify(items=[partner_json(db, p) for p in rows])


@admin_bp.post("/partners")
@api_view
def partner_add(rt: Runtime, db, user):
    networks = admin_only(user, "partner.add")
    data = body(("slug", "name", "kind", "population", "network", "agreement", "rate"),
                required=("slug", "name", "kind", "population", "network"))
    slug, network = text_field(data, "slug"), text_field(data, "network")
    from ...db.models import Network

    found = db.scalar(select(Network).where(Network.slug == network))
    if found is None or found.id not in networks:
        raise staff_desk.deny(user, "partner.add", str(network)[:64], partner=str(slug)[:64])
    agreement = data.get("agreement")
    terms = None
    if agreement is not None:
        if not isinstance(agreement, dict) or set(agreement) - {"start", "end"} or not {"start", "end"} <= set(agreement):
            raise FieldError("agreement", "bad_period", "agreement: expected {\"start\": …, \"end\": …}")
        try:
            terms = net.agreement_dates(agreement["start"], agreement["end"])
        except FieldError as exc:
            exc.field = f"agreement.{exc.field}"
            raise
    rate = data.get("rate")
    partner = net.add_partner(rt, db, slug, name=data["name"], kind=data["kind"], population=data["population"],
                              network=network, agreement=terms, rate=rate if rate is None else str(rate),
                              actor=user.email)
    db.flush()
    return jsonify(partner_json(db, svc.load_partner(db, partner.slug), detail=True)), 201


@admin_bp.get("/partners/<slug>")
@api_view
def partner(rt: Runtime, db, user, slug):
    return jsonify(partner_json(db, partner_for(db, user, slug, "partner.view"), detail=True))


@admin_bp.patch("/partners/<slug>")
@api_view
def partner_patch(rt: Runtime, db, user, slug):
    found = partner_for(db, user, slug, "partner.edit")
    data = body(svc.EDITABLE)
    svc.edit_partner(rt, db, found, actor=user.email, name=data.get("name"), kind=data.get("kind"),
                     population=data.get("population"), population_year=data.get("population_year"))
    db.flush()
    return jsonify(partner_json(db, found, detail=True))


@admin_bp.post("/partners/<slug>/agreements")
@api_view
def agreement_add(rt: Runtime, db, user, slug):
    found = partner_for(db, user, slug, "agreement.add")
    data = body(("start", "end", "rate", "note"), required=("start", "end"))
    dates = net.agreement_dates(data["start"], data["end"])
    rate = data.get("rate")
    net.add_agreement(rt, db, found.slug, dates, rate if rate is None else str(rate), actor=user.email,
                      note=svc._note(data.get("note", "")))
    db.flush()
    return jsonify(partner_json(db, svc.load_partner(db, slug), detail=True)), 201


@admin_bp.get("/fees")
@api_view
def fees(rt: Runtime, db, user):
    networks = admin_only(user, "fees.view")
    raw = request.args.get("year", "")
    if not raw.isdigit() or not 1900 <= int(raw) <= 2200:
        raise FieldError("year", "bad_year", f"year {raw[:10]!r}: expected a year between 1900 and 2200")
    lines = fees_for_year(db, int(raw), network_ids=networks)
    from ...services.fee_exports import total

    return jsonify(year=int(raw), items=[
        {"partner": line.partner, "name": line.name, "kind": line.kind, "network": line.network,
         "population": line.population, "rate": str(line.rate), "days": line.days, "year_days": line.year_days,
         "fee": f"{line.fee:.2f}"} for line in lines], total=f"{total(lines):.2f}")


# -- staff accounts ----------------------------------------------------------------------------
def account_json(user) -> dict:
    from ...services.staff_accounts import role_scope

    return {"email": user.email, "name": user.name, "active": user.active,
            "password_set": user.password_hash is not None, "totp": user.totp_secret is not None,
            "roles": [{"role": r.role, "scope": role_scope(r)} for r in user.roles]}


def account_for(db, user, email: str, action: str):
    from ...services import staff_accounts

    networks = admin_only(user, action, email[:254])
    try:
        target = staff_accounts.get_account(db, email)
    except NotFound:
        raise NotFound(_("Compte inconnu : %(email)s", email=email[:254]), code="unknown_account") from None
    if not staff_accounts.within(target, networks):
        raise staff_desk.deny(user, action, target.email)
    return target


@admin_bp.get("/staff")
@api_view
def staff_list(rt: Runtime, db, user):
    from ...services import staff_accounts

    networks = admin_only(user, "staff.list")
    return jsonify(items=[account_json(u) for u in staff_accounts.accounts_in(db, networks)])


@admin_bp.post("/staff")
@api_view
def staff_invite(rt: Runtime, db, user):
    from ...services import staff_accounts

    networks = admin_only(user, "staff.invite")
    data = body(("email", "role", "scope", "name"), required=("email", "role", "scope"))
    invitation = staff_accounts.invite(rt, db, data["email"], data["role"], data["scope"], actor=user.email,
                                       name=data.get("name", ""), network_ids=networks)
    return jsonify(email=invitation.user.email, role=data["role"], scope=data["scope"],
                   invitation_expires=staff_desk.iso(invitation.expires_at)), 201


@admin_bp.patch("/staff/<email>")
@api_view
def staff_patch(rt: Runtime, db, user, email):
    from ...services import staff_accounts

    target = account_for(db, user, email, "staff.change")
    data = body(("active", "name", "reset_password", "reset_totp"))
    for flag in ("reset_password", "reset_totp"):
        if flag in data and data[flag] is not True:
            raise FieldError(flag, "wrong_type", f"{flag}: only true is accepted", name=flag)
    if "name" in data:
        staff_accounts.set_name(rt, db, target, data["name"], actor=user.email)
    if "active" in data:
        staff_accounts.set_active(rt, db, target, data["active"], actor=user.email)
    out = {}
    if data.get("reset_password"):
        invitation = staff_accounts.reset_password(rt, db, target, actor=user.email)
        out["invitation_expires"] = staff_desk.iso(invitation.expires_at)
    if data.get("reset_totp"):
        staff_accounts.reset_totp(rt, db, target, actor=user.email)
    db.flush()
    return jsonify({**account_json(target), **out})


# -- libraries ---------------------------------------------------------------------------------
def library_json(rt: Runtime, lib) -> dict:
    from ...services import library_admin

    return {"code": lib.code, "name": lib.name, "commune": lib.commune, "partner": lib.partner.slug,
            "network": lib.partner.network.slug, "enabled": bool(lib.enabled), "registration": lib.registration,
            "contact_email": lib.contact_email, "contact_phone": lib.contact_phone, "address": lib.address,
            "website": lib.website, "connector": lib.connector, "settings": dict(lib.connector_settings or {}),
            "secrets": library_admin.secrets_set(rt, lib)}


def library_for(db, user, code: str, action: str):
    from ...services import library_admin

    networks = admin_only(user, action, code[:64])
    lib = library_admin.library_in(db, code)
    if lib.partner.network_id not in networks:
        raise staff_desk.deny(user, action, lib.code)
    return lib, networks


@admin_bp.post("/libraries")
@api_view
def library_add(rt: Runtime, db, user):
    from ...services import libraries as libs
    from ...services import library_admin

    networks = admin_only(user, "library.add")
    data = body(("code", "name", "partner", "connector", "settings", "registration", "commune", "contact_email"),
                required=("code", "name", "partner", "connector"))
    for name in ("code", "name", "partner", "connector", "registration", "commune", "contact_email"):
        text_field(data, name)
    owner = db.scalar(select(Partner).where(Partner.slug == data["partner"]))
    if owner is None or owner.network_id not in networks:
        raise FieldError("partner", "bad_partner", f"partner {data['partner'][:64]!r}: not a partner of your networks")
    settings = data.get("settings", {})
    if not isinstance(settings, dict):
        raise FieldError("settings", "wrong_type", "settings: expected an object", name="settings")
    lib = library_admin.add_library(rt, db, data, actor=user.email)
    db.flush()
    return jsonify(library_json(rt, libs.get_library(db, lib.code))), 201


@admin_bp.get("/libraries/<code>")
@api_view
def library(rt: Runtime, db, user, code):
    return jsonify(library_json(rt, library_for(db, user, code, "library.view")[0]))


@admin_bp.patch("/libraries/<code>")
@api_view
def library_patch(rt: Runtime, db, user, code):
    from ...services import library_admin

    lib, networks = library_for(db, user, code, "library.edit")
    data = body(library_admin.EDITABLE)
    library_admin.edit_library(rt, db, lib, data, actor=user.email, network_ids=networks)
    db.flush()
    return jsonify(library_json(rt, lib))


@admin_bp.post("/libraries/<code>/check")
@api_view
def library_check(rt: Runtime, db, user, code):
    from ...services.card_check import check_card

    lib, _networks = library_for(db, user, code, "library.check")
    data = body(("card", "password"), required=("card",))
    card, password = text_field(data, "card"), text_field(data, "password")
    if not card or not card.strip() or len(card) > 64:
        raise FieldError("card", "required", "card: required")
    result = check_card(rt, lib, card.strip(), password, raw=False)
    from ...services import audit

    audit.record(rt, db, user.email, "library.check", lib.code, ok=result["ok"], reason=result.get("reason"))
    return jsonify(result)
