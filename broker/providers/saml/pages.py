"""The few pages a patron may see from the SAML endpoints: refusal, expired request, refused message."""

from __future__ import annotations

from flask import render_template
from flask_babel import gettext as _

from ...web.portal import render_refusal


def refusal(outcome_or_refusal):
    """The portal's refusal page (the same page as ``/go``)."""
    return render_refusal(outcome_or_refusal)


def expired():
    """The request kept during the login is gone (too old, or finished in another tab)."""
    return render_template(
        "saml/error.html", status=400, code="saml_expired",
        title=_("Demande de connexion expirée"),
        message=_("Cette demande de connexion a expiré ou a déjà été utilisée. Retournez sur le site du "
                  "fournisseur et cliquez à nouveau sur « Se connecter »."),
        detail=""), 400


def refused_message(detail: str, status: int = 400):
    """A message from a supplier that Sésame does not accept; the detail is for its engineers."""
    return render_template(
        "saml/error.html", status=status, code="saml_invalid",
        title=_("Demande de connexion refusée"),
        message=_("Le site du fournisseur a envoyé une demande que Sésame ne peut pas accepter. Retournez sur ce "
                  "site et réessayez ; si le problème continue, signalez-le au fournisseur."),
        detail=detail), status


def logged_out():
    return render_template(
        "saml/error.html", status=200, code="logged_out", title=_("Vous êtes déconnecté ou déconnectée"),
        message=_("Votre session Sésame est terminée."), detail=""), 200
