"""The instance's signing and encryption keys, read-only for network admins.

Keys are shared by every network of the instance, and no staff role spans
every network: rotating or retiring stays with the operators' ``broker keys``
commands, which the page names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import render_template
from flask_babel import lazy_gettext as _l

from . import bp
from .admin_guard import admin_view

if TYPE_CHECKING:
    from ...runtime import Runtime

STATUS_LABELS = {"next": _l("Suivante (publiée, pas encore utilisée)"), "current": _l("Actuelle (signe)"),
                 "previous": _l("Précédente (encore publiée)"), "retired": _l("Retirée"),
                 "current (file)": _l("Actuelle (fichier de configuration)")}
PURPOSE_LABELS = {"saml-signing": _l("Signature SAML"), "saml-encryption": _l("Chiffrement SAML"),
                  "oidc-rs256": _l("Signature OIDC (RS256)"), "oidc-es256": _l("Signature OIDC (ES256)")}


@bp.get("/keys")
@admin_view("keys.view")
def keys(rt: Runtime, db, user):
    rows = rt.key_store.describe()
    return render_template("staff/keys.html", rows=rows, status_labels=STATUS_LABELS, purpose_labels=PURPOSE_LABELS)
