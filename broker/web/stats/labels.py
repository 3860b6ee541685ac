"""Labels the statistics pages and reports share: refusal reasons and month names, in French first."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ...services.stats.months import Month

REASON_LABELS = {
    "unknown_supplier": _l("Fournisseur inconnu"),
    "credentials": _l("Identifiants refusés"),
    "sigb_unavailable": _l("SIGB injoignable"),
    "card_invalid": _l("Carte expirée, perdue ou bloquée"),
    "not_registered": _l("Pas inscrit au service"),
    "membership_pending": _l("Inscription en attente"),
    "membership_refused": _l("Inscription refusée"),
    "membership_suspended": _l("Accès suspendu"),
    "membership_expired": _l("Inscription expirée"),
    "partner_inactive": _l("Convention du partenaire terminée"),
    "library_disabled": _l("Bibliothèque suspendue par le réseau"),
    "supplier_disabled": _l("Fournisseur suspendu par le réseau"),
    "not_in_bundle": _l("Fournisseur non proposé par le réseau"),
    "age": _l("Hors de la tranche d'âge"),
    "policy": _l("Règle locale"),
}
MONTH_NAMES = (_l("janv."), _l("févr."), _l("mars"), _l("avr."), _l("mai"), _l("juin"), _l("juil."), _l("août"),
               _l("sept."), _l("oct."), _l("nov."), _l("déc."))


def month_label(value) -> str:
    month = value if isinstance(value, Month) else Month.parse(str(value), allow_future=True)
    return f"{MONTH_NAMES[month.month - 1]} {month.year}"
