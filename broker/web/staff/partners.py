"""Network admins' partners and agreements: list, add, edit, new agreement, amendment, end."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ...services import network as net
from ...services import partners as svc
from ...services.field_errors import FieldError
from . import bp, staff_session
from .admin_guard import admin_networks, admin_view, field_message, networks_of, partner_in_scope
from .guard import runtime

if TYPE_CHECKING:
    from ...db.models import Partner
    from ...runtime import Runtime

log = logging.getLogger("broker.staff")

KIND_LABELS = {"commune": _l("Commune"), "epci": _l("EPCI"), "epic": _l("EPIC")}
STATE_LABELS = {"in_force": _l("En vigueur"), "ending_soon": _l("Fin prochaine"), "ended": _l("Terminée"),
                "future": _l("À venir"), "none": _l("Sans convention")}
CHANGE_LABELS = {"add": _l("Signature"), "amend": _l("Avenant"), "end": _l("Fin anticipée")}


@bp.context_processor
def partner_labels() -> dict:
    return {"kind_label": lambda k: KIND_LABELS.get(k, k),
            "partner_state_label": lambda s: STATE_LABELS.get(s, s),
            "change_label": lambda c: CHANGE_LABELS.get(c, c)}


@bp.before_request
def note_alerts():
    """On an admin's dashboard: the agreements ending soon, and the e-mail to the network's admins (once)."""
    if request.endpoint != "staff.dashboard":
        return
    rt = runtime()
    try:
        with rt.db.session() as db:
            user = staff_session.current(rt, db)
            networks = admin_networks(user) if user is not None else frozenset()
            if not networks:
                return
            g.admin_alerts = [{"slug": p.slug, "name": p.name, "end": a.end} for p, a in svc.ending_soon(db, networks, rt.clock.today())]
        if g.admin_alerts:
            svc.notify_ending(rt, networks)
    except Exception as exc:  # the dashboard still shows without the notice
        from sqlalchemy.exc import SQLAlchemyError

        if not isinstance(exc, SQLAlchemyError):
            raise
        log.warning("agreement notices not checked: %s", type(exc).__name__)


def _errors(exc: FieldError) -> dict[str, str]:
    return {exc.field: field_message(exc)}


@bp.get("/partners")
@admin_view("partner.list")
def partners(rt: Runtime, db, user):
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from ...db.models import Partner

    rows = list(db.scalars(select(Partner).where(Partner.network_id.in_(admin_networks(user)))
                           .options(selectinload(Partner.agreements), selectinload(Partner.network))
                           .order_by(Partner.name)))
    states = {p.id: svc.state_of(p, rt.clock.today()) for p in rows}
    return render_template("staff/partners.html", rows=rows, states=states, networks=networks_of(db, user))


@bp.route("/partners/new", methods=["GET", "POST"])
@admin_view("partner.add")
def partner_new(rt: Runtime, db, user):
    networks = networks_of(db, user)
    values = {"rate": "0.15", "kind": "commune", "network": networks[0].slug if networks else ""}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = {k: request.form.get(k, "").strip() for k in
                  ("slug", "name", "kind", "population", "network", "start", "end", "rate")}
        try:
            if values["network"] not in {n.slug for n in networks}:
                raise FieldError("network", "bad_network", "network: not one of yours")
            agreement = None
            if values["start"] or values["end"]:
                agreement = net.agreement_dates(values["start"], values["end"])
            partner = net.add_partner(rt, db, values["slug"], name=values["name"], kind=values["kind"],
                                      population=values["population"], network=values["network"],
                                      agreement=agreement, rate=values["rate"] or None, actor=user.email)
        except FieldError as exc:
            errors = _errors(exc)
        else:
            flash(_("Partenaire ajouté : %(name)s.", name=partner.name), "success")
            return redirect(url_for("staff.partner", slug=partner.slug), 303)
    return render_template("staff/partner_new.html", values=values, errors=errors, networks=networks), \
        (400 if errors else 200)


def _render_partner(db, partner, *, form: str = "", errors: dict | None = None, values: dict | None = None,
                    status: int = 200):
    today = runtime().clock.today()
    return render_template("staff/partner.html", partner=partner, state=svc.state_of(partner, today),
                           history=svc.history(db, partner), populations=sorted(svc.populations(db, partner).items()),
                           today=today, form=form, errors=errors or {}, values=values or {},
                           this_year=today.year), status


@bp.get("/partners/<slug>")
@admin_view("partner.view")
def partner(rt: Runtime, db, user, slug):
    return _render_partner(db, partner_in_scope(db, user, slug, "partner.view"))


def _partner_form(db, user, slug: str, action: str, form: str, names: tuple[str, ...],
                  change: Callable[[Partner, dict[str, str]], str]):
    """A form of a partner's page: ``change(partner, values)``, given the stripped fields ``names``, returns what
    to flash; a FieldError shows the page again with ``form`` open and the error beside its field (400)."""
    found = partner_in_scope(db, user, slug, action)
    values = {k: request.form.get(k, "").strip() for k in names}
    try:
        message = change(found, values)
    except FieldError as exc:
        db.rollback()
        return _render_partner(db, partner_in_scope(db, user, slug, action), form=form, errors=_errors(exc),
                               values=values, status=400)
    flash(message, "success")
    return redirect(url_for("staff.partner", slug=slug), 303)


@bp.post("/partners/<slug>")
@admin_view("partner.edit")
def partner_edit(rt: Runtime, db, user, slug):
    def change(found: Partner, values: dict[str, str]) -> str:
        changed = svc.edit_partner(rt, db, found, actor=user.email, name=values["name"], kind=values["kind"],
                                   population=values["population"] or None,
                                   population_year=values["population_year"] or None)
        return _("Partenaire mis à jour.") if changed else _("Aucun changement.")

    return _partner_form(db, user, slug, "partner.edit", "edit", ("name", "kind", "population", "population_year"),
                         change)


@bp.post("/partners/<slug>/agreements")
@admin_view("agreement.add")
def agreement_add(rt: Runtime, db, user, slug):
    def change(found: Partner, values: dict[str, str]) -> str:
        dates = net.agreement_dates(values["start"], values["end"])
        net.add_agreement(rt, db, found.slug, dates, values["rate"] or None, actor=user.email,
                          note=svc._note(values["note"]))
        return _("Convention enregistrée.")

    return _partner_form(db, user, slug, "agreement.add", "new", ("start", "end", "rate", "note"), change)


@bp.post("/partners/<slug>/agreements/<int:agreement_id>/<action>")
@admin_view("agreement.change")
def agreement_change(rt: Runtime, db, user, slug, agreement_id, action):
    if action not in ("amend", "end"):
        from flask import abort

        abort(404)

    def change(found: Partner, values: dict[str, str]) -> str:
        row = svc.agreement_of(found, agreement_id)
        if action == "amend":
            svc.amend_agreement(rt, db, found, row, actor=user.email, end=values["end"], rate=values["rate"],
                                note=values["note"])
            return _("Avenant enregistré.")
        svc.end_agreement(rt, db, found, row, actor=user.email, on=values["end"], note=values["note"])
        return _("Fin de la convention enregistrée : l'accès des usagers reste ouvert jusqu'à cette date incluse.")

    return _partner_form(db, user, slug, f"agreement.{action}", f"{action}-{agreement_id}", ("end", "rate", "note"),
                         change)
