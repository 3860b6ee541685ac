"""The patron's account: membership and history, the home library, what suppliers receive, my data."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from flask import Response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as L_

from ...services import patron_account, privacy, release, suppliers
from ...services import standing as standings
from ...services.access import load_patron
from ...wording import sorted_names
from .. import patron_session
from ..patron_session import login_redirect, patron_view
from .auth import end_session
from .blueprint import bp
from .patron_page import LibraryView, apply_brand, runtime
from .refusals import refusal_texts

STATE_LABELS = {
    "pending": L_("En attente de validation"),
    "active": L_("Active"),
    "refused": L_("Refusée"),
    "suspended": L_("Suspendue"),
    "expired": L_("Expirée"),
    "closed": L_("Clôturée"),
}
STATE_HELP = {
    "pending": L_("Votre bibliothèque va vérifier votre inscription. Vous recevrez un e-mail dès sa décision."),
    "active": L_("Vous pouvez utiliser toutes les ressources de votre réseau."),
    "refused": L_("Votre bibliothèque n'a pas validé votre inscription. Contactez-la pour en savoir plus ; "
                  "vous pourrez vous inscrire de nouveau."),
    "suspended": L_("Votre accès est suspendu. Contactez votre bibliothèque pour le faire rétablir."),
    "expired": L_("Votre inscription a expiré. Renouvelez votre carte auprès de votre bibliothèque."),
    "closed": L_("Votre inscription est clôturée : vous pouvez vous inscrire de nouveau quand vous le souhaitez."),
}
TRANSITION_LABELS = {
    "register": L_("Inscription en ligne"),
    "approve": L_("Inscription validée"),
    "refuse": L_("Inscription refusée"),
    "suspend": L_("Accès suspendu"),
    "reactivate": L_("Accès rétabli"),
    "expire": L_("Inscription expirée"),
    "close": L_("Compte fermé"),
    "import": L_("Reprise d'une inscription existante"),
}
#: services.release.describe_release speaks French; these are its sentences, for the English catalog
RELEASE_SENTENCES = (
    L_("un identifiant pseudonyme propre à ce fournisseur (jamais votre numéro de carte)"),
    L_("votre qualité d'usager inscrit du réseau"),
    L_("le code de votre bibliothèque"),
    L_("le nom de votre réseau"),
    L_("votre année de naissance"),
    L_("votre tranche d'âge"),
    L_("vos nom et prénom"),
    L_("votre adresse e-mail"),
)


@dataclass(frozen=True)
class HistoryLine:
    at: datetime
    what: str
    by: str
    reason: str


@dataclass(frozen=True)
class Shared:
    """Suppliers that receive the same things, listed together so the page stays short."""

    names: tuple[str, ...]
    items: tuple[str, ...]


def group_releases(rows) -> list[Shared]:
    groups: dict[tuple[str, ...], list[str]] = {}
    for supplier in rows:
        items = tuple(_(sentence) for sentence in release.describe_release(supplier))
        groups.setdefault(items, []).append(supplier.name)
    return [Shared(tuple(sorted_names(names)), items) for items, names in groups.items()]


def _actor(actor: str) -> str:
    if actor == "patron":
        return _("vous")
    if actor in ("system", "demo", "cli"):
        return _("automatiquement")
    return _("votre bibliothèque")


@bp.get("/account")
@patron_view
def account(patron):
    with runtime().db.session() as session:
        row = load_patron(session, patron.uid)
        if row is None or row.erased_at is not None:
            patron_session.end()
            return login_redirect()
        library = LibraryView.from_row(row.library)
        membership = row.membership
        state = membership.state if membership else None
        history = [HistoryLine(h.at, str(TRANSITION_LABELS.get(h.transition, h.transition)), _actor(h.actor),
                               h.reason if h.actor not in ("system", "demo", "cli") else "")
                   for h in (membership.history if membership else [])]
        shared = group_releases(s for s in suppliers.list_suppliers(session, library.network) if s.enabled)
        standing = standings.standing_of(session, row, runtime().clock.today())
        person = {"name": row.display_name, "email": row.email, "card_hint": row.card_hint,
                  "card_expires": row.card_expires}
    apply_brand(library)
    blocked = standing if not standing.open else None
    return render_template("portal/account.html", patron=patron, person=person, library=library, state=state,
                           state_label=STATE_LABELS.get(state, ""), state_help=STATE_HELP.get(state, ""),
                           standing=blocked, standing_text=refusal_texts(blocked) if blocked else None,
                           history=list(reversed(history)), shared=shared)


@bp.get("/account/export")
@patron_view
def export(patron):
    with runtime().db.session() as session:
        data = privacy.export_for_uid(runtime(), session, patron.uid)
    if data is None:
        return login_redirect()
    body = json.dumps(data, ensure_ascii=False, indent=2)
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": 'attachment; filename="sesame-mes-donnees.json"',
        "Cache-Control": "no-store",
    })


@bp.route("/account/close", methods=["GET", "POST"])
@patron_view
def close(patron):
    with runtime().db.session() as session:
        row = load_patron(session, patron.uid)
        library = LibraryView.from_row(row.library) if row is not None else None
    apply_brand(library)
    if request.method == "GET":
        return render_template("portal/close.html", patron=patron, library=library, error="")
    if request.form.get("confirm") != "yes":
        return render_template("portal/close.html", patron=patron, library=library, error=_(
            "Cochez la case pour confirmer que vous voulez fermer votre compte.")), 400
    with runtime().db.session() as session:
        patron_account.close_account(runtime(), session, patron.uid)
    end_session()
    return redirect(url_for("portal.closed"))


@bp.get("/account/closed")
def closed():
    """Said after closing: the session is gone with the account, so not a flash message."""
    return render_template("portal/closed.html")
