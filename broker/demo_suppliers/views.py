"""The ``demo_suppliers`` blueprint: the pages of the three demo suppliers under ``/demo/suppliers/``.

Importing this module imports the client libraries: ``init_app`` catches the
ImportError when the ``demo`` extra is not installed.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, abort, current_app, redirect, request
from flask_babel import gettext as _
from sqlalchemy import select

from ..db.models import Supplier
from . import cas_client, oidc_rp, pages, saml_sp, sessions
from .kinds import CAS, KINDS, OIDC, PREFIX, SAML, Kind
from .registration import cas_pattern, oidc_client_secret


def _runtime() -> Any:
    return current_app.extensions["broker"]


def _base() -> str:
    return _runtime().settings.base_url.rstrip("/")


def _registration(kind: Kind) -> tuple[Supplier | None, str | None]:
    """The demo supplier's row, or why it cannot be used at this address (for the page)."""
    with _runtime().db.session() as session:
        row = session.scalar(select(Supplier).where(Supplier.slug == kind.slug))
        if row is None or row.protocol != kind.protocol:
            return None, _("Ce fournisseur de démonstration n'est pas enregistré dans Sésame : "
                           "lancez « broker demo ».")
        base = _base()
        config = row.config or {}
        current = {
            "saml": lambda: SAML.url(base, "acs") in (config.get("metadata") or ""),
            "oidc": lambda: (config.get("oidc") or {}).get("redirect_uris") == [OIDC.url(base, "callback")],
            "cas": lambda: (config.get("cas") or {}).get("service_patterns") == [cas_pattern(base)],
        }[kind.protocol]()
        if not current:
            return None, _("Ce fournisseur de démonstration est enregistré pour une autre adresse que %(base)s : "
                           "relancez « broker demo ».", base=base)
        session.expunge(row)
        return row, None


def _start_login(kind: Kind, return_to: str):
    """Send the visitor to Sésame to log in, coming back to ``return_to`` (a path of this supplier)."""
    row, problem = _registration(kind)
    if problem:
        return pages.render_error(kind, problem, 503)
    base = _base()
    try:
        if kind is SAML:
            url, request_id = saml_sp.login_url(base, return_to)
            pending = {"id": request_id}
        elif kind is OIDC:
            url, pending = oidc_rp.start(base, row.oidc_client_id)
            pending["next"] = return_to
        else:
            return redirect(cas_client.login_url(base, base + return_to))
    except (saml_sp.SamlSpError, oidc_rp.OidcRpError) as exc:
        return pages.render_error(kind, _("Sésame ne répond pas à ce fournisseur."), 503, exc.reason)
    response = redirect(url)
    sessions.save(kind, response, {"pending": pending})
    return response


def _logged_in(kind: Kind, received: dict[str, Any], target: str | None):
    response = redirect(sessions.local_target(kind, _base(), target))
    sessions.save(kind, response, {"received": received})
    return response


def _raw_url() -> str:
    """This request's URL as the browser sent it (a CAS service URL must match byte for byte)."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if not raw or not raw.startswith("/"):
        query = request.query_string.decode("latin-1")
        raw = request.path + (f"?{query}" if query else "")
    return _base() + raw


def make_blueprint(app: Flask) -> Blueprint:
    bp = Blueprint("demo_suppliers", __name__, url_prefix=PREFIX)

    @bp.after_request
    def _no_store(response):
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    def kind_of(protocol: str) -> Kind:
        kind = KINDS.get(protocol)
        if kind is None:
            abort(404)
        return kind

    @bp.get("/<protocol>/")
    @bp.get("/<protocol>/resource/<path:rest>")
    def page(protocol: str, rest: str | None = None):
        """The supplier's page (or one of its resources): what it received, after a login if needed."""
        kind = kind_of(protocol)
        if kind is CAS and request.args.get("ticket"):
            return cas_ticket()
        data = sessions.load(kind)
        if data.get("received"):
            return pages.render_received(kind, data["received"], rest)
        return _start_login(kind, sessions.local_target(kind, _base(), request.full_path.rstrip("?")))

    @bp.get("/<protocol>/login")
    def login(protocol: str):
        """Start a login at Sésame now (the OIDC supplier's login URL), then go to ``next``."""
        kind = kind_of(protocol)
        return _start_login(kind, sessions.local_target(kind, _base(), request.args.get("next")))

    @bp.post("/<protocol>/logout")
    def logout(protocol: str):
        kind = kind_of(protocol)
        response = redirect("/")
        sessions.clear(kind, response)
        return response

    @bp.get("/saml/metadata")
    def saml_metadata():
        return current_app.response_class(saml_sp.sp_metadata(_base()), mimetype="application/samlmetadata+xml")

    @bp.post("/saml/acs")
    def saml_acs():
        pending = sessions.load(SAML).get("pending") or {}
        try:
            got = saml_sp.accept(_base(), request.form.to_dict(), pending.get("id"))
        except saml_sp.SamlSpError as exc:
            return pages.render_error(SAML, _("La réponse de Sésame n'a pas pu être vérifiée."), 400, exc.reason)
        received = pages.received("saml", got["nameid"], "NameID", got["values"], library=got["library"],
                                  network=got["network"], detail=got["format"])
        return _logged_in(SAML, received, request.form.get("RelayState"))

    @bp.get("/oidc/callback")
    def oidc_callback():
        pending = sessions.load(OIDC).get("pending") or {}
        if request.args.get("error"):
            return pages.render_error(OIDC, _("Sésame n'a pas accordé la connexion."), 400,
                                      request.args.get("error", "")[:100])
        if not pending.get("state") or request.args.get("state") != pending["state"]:
            return pages.render_error(OIDC, _("Cette connexion a expiré ou ne vient pas de ce site : "
                                              "recommencez depuis le catalogue."), 400, "state")
        row, problem = _registration(OIDC)
        if problem:
            return pages.render_error(OIDC, problem, 503)
        try:
            got = oidc_rp.finish(_base(), row.oidc_client_id, oidc_client_secret(_runtime()),
                                 request.args.get("code", ""), pending)
        except oidc_rp.OidcRpError as exc:
            return pages.render_error(OIDC, _("La réponse de Sésame n'a pas pu être vérifiée."), 400, exc.reason)
        received = pages.received("oidc", got["sub"], "sub", got["values"], library=got["library"],
                                  network=got["network"])
        return _logged_in(OIDC, received, pending.get("next"))

    def cas_ticket():
        service = cas_client.without_ticket(_raw_url())
        try:
            got = cas_client.validate(_base(), service, request.args["ticket"][:256])
        except cas_client.CasClientError as exc:
            return pages.render_error(CAS, _("Le ticket de Sésame n'a pas pu être validé."), 400, exc.reason)
        received = pages.received("cas", got["user"], "user", got["values"], library=got["library"],
                                  network=got["network"])
        return _logged_in(CAS, received, service)

    app.extensions["csrf"].exempt(saml_acs)
    return bp
