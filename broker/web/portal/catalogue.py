"""The resource catalogue of the patron's network, and ``/go/<supplier>``, the way into a resource."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from flask import redirect, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as L_

from ...domain.access import Reason, Refusal
from ...errors import BrokerError, NotFound, ServiceUnavailable
from ...services import access, suppliers
from ...services import standing as standings
from ...services.access import load_patron
from ...wording import sorted_names
from ..patron_session import check_access, current_patron, login_redirect
from .blueprint import bp
from .patron_page import LibraryView, apply_brand, chosen_library, runtime
from .refusals import refusal_texts, render_refusal

log = logging.getLogger("broker.portal")

CATEGORY_LABELS = {
    "cinema": L_("Cinéma"),
    "presse": L_("Presse"),
    "formation": L_("Formation"),
    "musique": L_("Musique"),
    "livre": L_("Livre"),
    "jeu-video": L_("Jeu vidéo"),
    "jeunesse": L_("Jeunesse"),
}
OTHER = "autres"
MAX_TARGET = 2000


@dataclass(frozen=True)
class Resource:
    slug: str
    name: str
    description: str
    min_age: int | None
    max_age: int | None
    networks: tuple[str, ...]


@dataclass(frozen=True)
class Category:
    key: str
    label: str
    resources: tuple[Resource, ...]


def catalogue(network: str | None) -> tuple[list[Category], dict[str, str]]:
    """The enabled suppliers of ``network`` (all networks when None), grouped in the fixed category order."""
    with runtime().db.session() as session:
        rows = [s for s in suppliers.list_suppliers(session, network) if s.enabled]
        names = {n.slug: n.name for s in rows for n in s.networks}
        resources = [(s.category if s.category in CATEGORY_LABELS else OTHER,
                      Resource(s.slug, s.name, s.description or "", s.min_age, s.max_age,
                               tuple(sorted_names(n.name for n in s.networks)))) for s in rows]
    groups = []
    for key in (*CATEGORY_LABELS, OTHER):
        items = tuple(sorted_names((r for k, r in resources if k == key), key=lambda r: r.name))
        if items:
            groups.append(Category(key, str(CATEGORY_LABELS.get(key, L_("Autres ressources"))), items))
    return groups, names


def membership_state(uid: str) -> tuple[str | None, str | None, standings.Standing | None]:
    """(membership state, display name, standing) of the logged-in patron."""
    with runtime().db.session() as session:
        patron = load_patron(session, uid)
        if patron is None or patron.erased_at is not None:
            return None, None, None
        return ((patron.membership.state if patron.membership else None), patron.display_name,
                standings.standing_of(session, patron, runtime().clock.today()))


@bp.get("/")
def home():
    patron = current_patron()
    library = chosen_library()
    apply_brand(library)
    groups, network_names = catalogue(library.network if library else None)
    state, name, standing = membership_state(patron.uid) if patron else (None, None, None)
    blocked = standing if standing is not None and not standing.open else None
    return render_template("portal/home.html", groups=groups, library=library, patron=patron, state=state,
                           display_name=name, network_names=network_names, standing=blocked,
                           standing_text=refusal_texts(blocked) if blocked else None,
                           demo=runtime().settings.demo)


def _http_url(url: str | None) -> str | None:
    return url if url and url.startswith(("https://", "http://")) else None


def go_form_targets(target: str) -> list[str] | None:
    """Where a form whose answer leads to ``/go/<slug>`` ends: the supplier's deep link or login page."""
    parts = urlsplit(target)
    if not parts.path.startswith("/go/"):
        return None
    rt = runtime()
    wanted = (parse_qs(parts.query).get("target") or [None])[0]
    with rt.db.session() as session:
        try:
            supplier = suppliers.get_supplier(session, parts.path[4:68])
        except NotFound:
            return []
        spec = rt.providers.get(supplier.protocol)
        url = spec.deep_link(supplier, wanted) if spec is not None and spec.deep_link is not None else None
        return [u for u in (url, _http_url(supplier.login_url)) if u]


@bp.get("/go/<slug>")
def go(slug: str):
    """Check access, then hand the patron to the supplier's protocol (or its login page).

    A provider with its own issuance handler (``ProviderSpec.issue``, e.g. signed
    links) answers for a logged-in patron: its issuance step decides and records.
    """
    rt = runtime()
    target = request.args.get("target") or None
    if target is not None and len(target) > MAX_TARGET:
        target = None  # an absurd deep link is dropped: the patron still reaches the resource
    with rt.db.session() as session:
        try:
            supplier = suppliers.get_supplier(session, slug) if len(slug) <= 64 else None
        except NotFound:
            supplier = None
        if supplier is None:
            return render_refusal(Refusal(Reason.UNKNOWN_SUPPLIER))
        if not supplier.enabled:
            return render_refusal(Refusal(Reason.SUPPLIER_DISABLED))
        patron = current_patron()
        if patron is None:
            return login_redirect()
        spec = rt.providers.get(supplier.protocol)
        if spec is not None and spec.issue is not None:
            # the provider answers itself: its issuance step decides and records the access
            try:
                return spec.issue(rt, supplier, patron, target)
            except BrokerError:
                raise
            except Exception as exc:  # a provider bug must not show a traceback
                log.error("issuance failed", extra={"event": {"supplier": supplier.slug,
                                                               "error": type(exc).__name__}})
                raise ServiceUnavailable(_("Cette ressource est momentanément inaccessible. "
                                           "Réessayez dans quelques minutes.")) from None
        outcome = check_access(rt, session, patron, supplier)
        if not outcome.granted:
            access.record_usage(rt, outcome, "go")
            library = LibraryView.from_row(outcome.library) if outcome.library is not None else None
            return render_refusal(outcome, library)
        if spec is not None and spec.deep_link is not None:
            try:
                url = spec.deep_link(supplier, target)
            except Exception as exc:  # a provider bug must not show a traceback
                log.error("deep link failed", extra={"event": {"supplier": supplier.slug,
                                                                "error": type(exc).__name__}})
                raise ServiceUnavailable(_("Cette ressource est momentanément inaccessible. "
                                           "Réessayez dans quelques minutes.")) from None
            return redirect(url)
        login_url = _http_url(supplier.login_url)
        if login_url:
            # no protocol records this access: count it here
            access.record_usage(rt, outcome, "go")
            return redirect(login_url)
        library = LibraryView.from_row(outcome.library)
        name = supplier.name
    apply_brand(library)
    return render_template("portal/go_info.html", name=name, library=library)
