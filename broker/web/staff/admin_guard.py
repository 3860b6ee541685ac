"""What the network administration pages share: admins only, their networks only, errors beside the fields."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import wraps
from typing import TYPE_CHECKING

from flask import flash, g, redirect, request
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ...db.models import Network, Partner
from ...errors import NotFound
from ...services import staff, staff_desk
from ...services.field_errors import FieldError
from ..errors import message_of
from . import bp
from .guard import staff_view

if TYPE_CHECKING:
    from ...runtime import Runtime

#: the French sentence for each FieldError code (its English translation is in the staff catalogue)
FIELD_MESSAGES = {
    "bad_slug": _l("Identifiant invalide : lettres minuscules, chiffres et tirets (64 au plus)."),
    "exists": _l("Cet identifiant est déjà pris."),
    "bad_name": _l("Indiquez un nom (200 caractères au plus)."),
    "bad_kind": _l("Choisissez commune, EPCI ou EPIC."),
    "not_whole": _l("La population doit être un nombre entier."),
    "negative": _l("La population ne peut pas être négative."),
    "bad_year": _l("Indiquez une année entre 1900 et 2200."),
    "required": _l("Ce champ est obligatoire."),
    "bad_date": _l("Date invalide : attendu AAAA-MM-JJ."),
    "bad_period": _l("Période invalide : attendu AAAA-MM-JJ:AAAA-MM-JJ."),
    "end_before_start": _l("La fin (%(end)s) est avant le début (%(start)s)."),
    "overlap": _l("Ce partenaire a déjà une convention du %(start)s au %(end)s : deux conventions ne peuvent pas "
                  "se chevaucher."),
    "bad_rate": _l("Tarif invalide : un nombre d'euros par habitant entre 0 et 100, par exemple 0,15."),
    "unchanged": _l("Rien ne change : indiquez une autre date de fin ou un autre tarif."),
    "end_in_past": _l("Une convention ne peut pas prendre fin dans le passé (nous sommes le %(today)s)."),
    "end_after_end": _l("Cette date est après la fin prévue (%(current)s) : enregistrez plutôt un avenant."),
    "bad_note": _l("Référence trop longue (500 caractères au plus) ou caractères non permis."),
    "bad_email": _l("Adresse e-mail invalide."),
    "already_active": _l("Un compte actif existe déjà pour cette adresse."),
    "inactive": _l("Ce compte est désactivé : réactivez-le plutôt que de l'inviter à nouveau."),
    "bad_role": _l("Choisissez référent ou administrateur."),
    "bad_scope": _l("Choisissez une bibliothèque (référent) ou un réseau (administrateur) que vous administrez."),
    "last_admin": _l("C'est le dernier administrateur actif du réseau %(network)s : nommez-en un autre avant."),
    "weak_password": _l("Le mot de passe doit faire au moins 12 caractères."),
    "mismatch": _l("Les deux mots de passe ne sont pas identiques."),
    "bad_network": _l("Choisissez un réseau que vous administrez."),
    "unknown_field": _l("Champ inconnu : %(name)s."),
    "wrong_type": _l("Le champ %(name)s n'a pas le bon type."),
    "bad_code": _l("Code invalide : lettres, chiffres, « - » ou « _ » (64 au plus), par exemple FR-141186101."),
    "bad_text": _l("Texte trop long ou caractères non permis."),
    "bad_registration": _l("Choisissez validation par le référent ou inscription automatique."),
    "bad_partner": _l("Choisissez un partenaire du réseau de cette bibliothèque."),
    "bad_connector": _l("Connecteur inconnu."),
    "bad_setting": _l("Réglage refusé par le connecteur : %(detail)s"),
    "bad_bundle": _l("Cochez au moins un réseau : un fournisseur est proposé par un réseau au moins."),
    "bad_release": _l("Choisissez parmi les attributs proposés."),
    "bad_category": _l("Choisissez une catégorie de la liste."),
    "bad_url": _l("Adresse invalide : attendu https://…"),
    "bad_protocol": _l("Choisissez SAML, OpenID Connect, CAS ou lien signé."),
    "metadata_source": _l("Envoyez le fichier de métadonnées ou indiquez leur adresse (l'un des deux)."),
    "bad_metadata": _l("Métadonnées refusées, rien n'a été enregistré : %(detail)s"),
    "bad_certificate": _l("Certificat refusé : %(detail)s"),
    "other_entity": _l("Ces métadonnées décrivent une autre entité que ce fournisseur : %(detail)s"),
    "bad_uri": _l("Adresse refusée : %(detail)s"),
    "bad_pattern": _l("Motif refusé : %(detail)s"),
    "bad_choice": _l("Choisissez une valeur de la liste."),
    "bad_link": _l("Réglage refusé : %(detail)s"),
    "bad_lifetime": _l("Indiquez un nombre entier de secondes."),
    "fixed": _l("Ce réglage est fixé à l'enregistrement du fournisseur."),
    "no_url": _l("Ce fournisseur n'a pas d'adresse de métadonnées à relire."),
    "bad_grace": _l("Indiquez un nombre entier de jours, de 0 à %(max)s."),
    "unknown_membership": _l("Aucune inscription de ce numéro dans vos réseaux."),
    "too_many": _l("Trop de valeurs dans ce champ."),
}


def field_message(exc: FieldError) -> str:
    """The error in the page's language, dates written the local way."""
    template = FIELD_MESSAGES.get(exc.code)
    if template is None:
        return message_of(exc)
    params = {k: (format_date(v) if isinstance(v, date) else v) for k, v in exc.params.items()}
    try:
        return str(template) % params if params else str(template)
    except (KeyError, ValueError, TypeError):
        return str(template)


def admin_networks(user) -> frozenset[int]:
    return staff.scope_of(user).admin_networks


def admin_view(action: str) -> Callable:
    """A staff page for network admins; anyone else gets a 403 recorded in the audit log as ``denied``."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def inner(rt: Runtime, db, user, **kwargs):
            if not admin_networks(user):
                raise staff_desk.deny(user, action, request.path[:200])
            return view(rt, db, user, **kwargs)

        return staff_view(inner)

    return decorate


def switch_enabled(set_enabled: Callable[[bool], object], back: str, *, enabled: str, disabled: str):
    """Enable (the form's ``enabled`` is "1") or disable with ``set_enabled``, say which way it went with the
    ``enabled`` or ``disabled`` message, then go ``back``."""
    on = request.form.get("enabled") == "1"
    set_enabled(on)
    flash(enabled if on else disabled, "success")
    return redirect(back, 303)


def networks_of(db, user) -> list[Network]:
    ids = admin_networks(user)
    return list(db.scalars(select(Network).where(Network.id.in_(ids)).order_by(Network.name))) if ids else []


def partner_in_scope(db, user, slug: str, action: str) -> Partner:
    """The partner ``slug`` of one of the admin's networks: NotFound, or a 403 recorded as ``denied``."""
    from ...services.partners import load_partner

    if not isinstance(slug, str) or len(slug) > 64:
        raise NotFound(_("Partenaire inconnu."), code="unknown_partner")
    try:
        partner = load_partner(db, slug)
    except NotFound:
        raise NotFound(_("Partenaire inconnu : %(slug)s", slug=slug[:64]), code="unknown_partner") from None
    if partner.network_id not in admin_networks(user):
        raise staff_desk.deny(user, action, slug)
    return partner


@bp.app_template_global()
def admin_alerts() -> list:
    """Agreements ending soon in the logged-in admin's networks (set on the dashboard by ``note_alerts``)."""
    return g.get("admin_alerts", [])


@bp.app_template_global()
def admin_date(value) -> str:
    """A date (or an ISO date text) the reader's way (31/12/2025 in French, Dec 31, 2025 in English)."""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return value
    return format_date(value) if value else ""


@bp.app_template_global()
def money(value, rate: bool = False) -> str:
    """An amount the reader's way, to the cent (967,80 in French, 967.80 in English); a rate keeps its digits."""
    from flask_babel import format_decimal

    return format_decimal(value, format="#,##0.00##" if rate else "#,##0.00")
