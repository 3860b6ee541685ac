"""The audit log in words: each action, outcome and detail as a librarian reads it."""

from __future__ import annotations

import re
from datetime import date, datetime

from flask_babel import lazy_gettext as _l

from ..templating import local_date, local_datetime
from .guard import SIGB_LABELS, STATE_LABELS

ACTIONS = {
    "agreement.add": _l("Accord ajouté"),
    "api_token.create": _l("Jeton d'API créé"),
    "api_token.revoke": _l("Jeton d'API révoqué"),
    "card.lookup": _l("Carte vérifiée dans le SIGB"),
    "library.add": _l("Bibliothèque ajoutée"),
    "library.connector": _l("Connecteur SIGB modifié"),
    "library.view": _l("Page d'une bibliothèque consultée"),
    "library.counts": _l("Effectifs d'une bibliothèque consultés"),
    "members.export": _l("Inscrits exportés"),
    "membership.approve": _l("Inscription validée"),
    "membership.refuse": _l("Inscription refusée"),
    "membership.suspend": _l("Accès suspendu"),
    "membership.reactivate": _l("Accès rétabli"),
    "membership.expire": _l("Inscription expirée"),
    "membership.close": _l("Inscription clôturée"),
    "membership.register": _l("Inscription en ligne"),
    "membership.import": _l("Inscription reprise"),
    "membership.view": _l("Fiche d'un usager consultée"),
    "membership.list": _l("Liste des inscrits consultée"),
    "membership.lookup": _l("Carte vérifiée dans le SIGB"),
    "memberships.import": _l("Inscriptions importées"),
    "network.add": _l("Réseau ajouté"),
    "partner.add": _l("Partenaire ajouté"),
    "patron.search": _l("Usager recherché"),
    "privacy.export": _l("Données personnelles exportées"),
    "privacy.purge": _l("Données anciennes effacées"),
    "queue.view": _l("File d'attente consultée"),
    "queue.lookup": _l("Carte vérifiée dans le SIGB"),
    "staff.add": _l("Compte professionnel ajouté"),
    "staff.login": _l("Connexion à l'espace professionnel"),
    "staff.logout": _l("Déconnexion"),
    "staff.totp.enable": _l("Double authentification activée"),
    "staff.totp.disable": _l("Double authentification désactivée"),
    "stats.api": _l("Statistiques lues par l'API"),
    "stats.export": _l("Statistiques exportées"),
    "supplier.add": _l("Fournisseur ajouté"),
    "supplier.saml": _l("Fournisseur configuré en SAML"),
    "supplier.oidc": _l("Fournisseur configuré en OpenID Connect"),
    "supplier.cas": _l("Fournisseur configuré en CAS"),
    "supplier.saml.refresh": _l("Métadonnées SAML du fournisseur actualisées"),
    "supplier.edit": _l("Fournisseur modifié"),
    "supplier.enable": _l("Fournisseur réactivé"),
    "supplier.disable": _l("Fournisseur désactivé"),
    "supplier.link": _l("Fournisseur configuré en lien signé"),
    "supplier.oidc.rotate": _l("Secret OpenID Connect du fournisseur changé"),
    "supplier.preview": _l("Aperçu des attributs d'un fournisseur consulté"),
}
OUTCOMES = {
    "ok": _l("effectuée"),
    "denied": _l("refusée (hors périmètre)"),
    "failed": _l("échouée"),
    "locked": _l("refusée (compte bloqué)"),
    "not_found": _l("refusée (compte inconnu)"),
}
DETAILS = {
    "count": _l("nombre"),
    "membership": _l("inscription n°"),
    "reason": _l("motif"),
    "role": _l("rôle"),
    "scope": _l("périmètre"),
    "sigb": _l("SIGB"),
    "step": _l("étape"),
    "name": _l("nom"),
    "kind": _l("type"),
    "population": _l("population"),
    "partner": _l("partenaire"),
    "start": _l("début"),
    "end": _l("fin"),
    "connector": _l("connecteur"),
    "protocol": _l("protocole"),
    "entity_id": _l("identifiant SAML"),
    "metadata_url": _l("adresse des métadonnées"),
    "nameid": _l("format du NameID"),
    "encrypt": _l("chiffrement"),
    "error": _l("erreur"),
    "code": _l("code"),
    "state": _l("état"),
    "library": _l("bibliothèque"),
    "grace_days": _l("délai de grâce (jours)"),
}
ACTORS = {
    "cli": _l("ligne de commande"),
    "system": _l("Sésame (automatique)"),
    "demo": _l("démonstration"),
    "patron": _l("l'usager"),
}
ROLES = {"referent": _l("référent"), "admin": _l("administrateur")}
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")


def action_label(action: str) -> str:
    """The action in words; an action this version does not know keeps its code."""
    label = ACTIONS.get(action)
    return str(label) if label is not None else action


def actor_label(actor: str) -> str:
    label = ACTORS.get(actor)
    return str(label) if label is not None else actor


def outcome_label(outcome: str) -> str:
    label = OUTCOMES.get(outcome)
    return str(label) if label is not None else outcome


def _value(key: str, value) -> str:
    if isinstance(value, bool):
        from flask_babel import gettext as _

        return _("oui") if value else _("non")
    text = str(value)
    if key == "sigb" and text in SIGB_LABELS:
        return str(SIGB_LABELS[text])
    if key == "state" and text in STATE_LABELS:
        return str(STATE_LABELS[text])
    if key == "role" and text in ROLES:
        return str(ROLES[text])
    if _ISO_DAY.match(text):
        return local_date(date.fromisoformat(text))
    if _ISO_MOMENT.match(text):
        try:
            return local_datetime(datetime.fromisoformat(text.replace("Z", "+00:00")))
        except ValueError:
            return text
    return text


def details(detail: dict | None) -> list[tuple[str, str]]:
    """(label, value) for each detail that says something: empty values are left out."""
    out = []
    for key, value in (detail or {}).items():
        if value is None or value == "" or value == [] or value == {}:
            continue
        label = DETAILS.get(key)
        out.append((str(label) if label is not None else key, _value(key, value)))
    return out
