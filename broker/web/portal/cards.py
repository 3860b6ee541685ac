"""The patron's cards: see them, link another one (proved like a login), unlink, choose which history to keep."""

from __future__ import annotations

from contextlib import contextmanager

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ...services import card_linking, persons
from ...services.access import load_patron
from ...services.card_check import CardCheckFailure
from ...services.card_linking import LinkOutcome
from .. import patron_session
from ..patron_session import login_redirect, patron_view
from .account import STATE_LABELS
from .blueprint import bp
from .forms import credentials_message, library_groups, messages, rate_limited_message
from .patron_page import LibraryView, apply_brand, client_ip, runtime


def _messages(outcome: LinkOutcome | CardCheckFailure) -> str:
    return {
        CardCheckFailure.RATE_LIMITED: rate_limited_message(),
        CardCheckFailure.CREDENTIALS: credentials_message(),
        CardCheckFailure.SIGB_UNAVAILABLE: _("Le logiciel de cette bibliothèque ne répond pas pour le moment. "
                                             "Réessayez dans quelques minutes."),
        LinkOutcome.SAME_CARD: _("C'est la carte avec laquelle vous êtes connecté ou connectée : choisissez "
                                 "une autre carte."),
        LinkOutcome.ALREADY: _("Cette carte est déjà liée à votre compte."),
        LinkOutcome.LIMIT: _("Vous avez atteint le nombre maximum de cartes liées (%(count)d). Retirez une "
                             "carte avant d'en ajouter une autre.", count=runtime().settings.cards_max_per_person),
        CardCheckFailure.NOT_REGISTERED: _("Cette carte n'est pas encore inscrite aux ressources numériques. "
                                           "Inscrivez-la d'abord auprès de sa bibliothèque, puis liez-la."),
    }.get(outcome, _("Cette carte n'a pas pu être liée."))


def _page(patron, status: int = 200, *, errors=None, alert: str = "", values=None):
    rt = runtime()
    with rt.db.session() as session:
        row = load_patron(session, patron.uid)
        if row is None or row.erased_at is not None:
            patron_session.end()
            return login_redirect()
        library = LibraryView.from_row(row.library)
        person_id = persons.person_of(session, row.id)
        if person_id is None:
            state = row.membership.state if row.membership else None
            cards = [persons.Card(row.id, row.uid, row.library_id, library.code, library.name, library.network,
                                  library.network_name, row.card_hint, state, None, False)]
            choices = []
        else:
            cards = [c for c in persons.cards(session, person_id) if not c.erased]
            choices = persons.choices(rt, session, person_id)
    apply_brand(library)
    return render_template("portal/cards.html", cards=cards, current=patron.uid, choices=choices,
                           hints={c.patron_id: c for c in cards}, states=STATE_LABELS,
                           groups=library_groups(), errors=errors or {}, alert=alert, values=values or {},
                           limit=rt.settings.cards_max_per_person, library=library), status


@bp.get("/account/cards")
@patron_view
def cards(patron):
    return _page(patron)


@bp.post("/account/cards")
@patron_view
def link_card(patron):
    card = request.form.get("card", "")
    result = card_linking.link_card(runtime(), patron.uid, request.form.get("library"), card,
                                    request.form.get("password"), ip=client_ip())
    if result.outcome is LinkOutcome.LINKED:
        flash(_("La carte se terminant par %(end)s est liée à votre compte.", end=result.card_hint), "success")
        return redirect(url_for("portal.cards"))
    if result.outcome is LinkOutcome.NO_ACCOUNT:
        patron_session.end()
        return login_redirect()
    keep = {"card": card[:64], "library": (request.form.get("library") or "")[:64]}
    if result.outcome is CardCheckFailure.INVALID:
        return _page(patron, 400, errors=messages(result.errors), values=keep)
    status = {CardCheckFailure.RATE_LIMITED: 429, CardCheckFailure.SIGB_UNAVAILABLE: 503,
              LinkOutcome.ALREADY: 409, LinkOutcome.LIMIT: 409}.get(result.outcome, 400)
    return _page(patron, status, alert=_messages(result.outcome), values=keep)


@contextmanager
def _own_person(patron):
    """``(runtime, session, person_id)`` in one unit of work; person_id is None for a card not linked to others
    (or a patron gone meanwhile)."""
    rt = runtime()
    with rt.db.session() as session:
        row = load_patron(session, patron.uid)
        gone = row is None or row.erased_at is not None
        yield rt, session, None if gone else persons.person_of(session, row.id)


@bp.post("/account/cards/unlink")
@patron_view
def unlink_card(patron):
    with _own_person(patron) as (rt, session, person_id):
        target = request.form.get("card", "")
        found = [c for c in persons.cards(session, person_id) if str(c.patron_id) == target] if person_id else []
        if not found:
            return _page(patron, 400, alert=_("Cette carte n'est pas liée à votre compte."))
        from ...db.models import Patron

        persons.unlink(rt, session, session.get(Patron, found[0].patron_id), actor="patron")
    flash(_("La carte se terminant par %(end)s n'est plus liée : elle fonctionne de nouveau seule.",
            end=found[0].card_hint), "success")
    return redirect(url_for("portal.cards"))


@bp.post("/account/cards/keep")
@patron_view
def keep_identity(patron):
    with _own_person(patron) as (rt, session, person_id):
        try:
            chosen = int(request.form.get("card", ""))
        except ValueError:
            chosen = -1
        ok = person_id is not None and persons.choose(rt, session, person_id, request.form.get("sector", ""),
                                                      chosen, actor="patron")
    if not ok:
        return _page(patron, 400, alert=_("Ce choix n'est pas proposé pour votre compte."))
    flash(_("Votre choix est enregistré."), "success")
    return redirect(url_for("portal.cards"))
