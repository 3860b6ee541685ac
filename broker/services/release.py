"""What a supplier receives about a patron: minimal by default, per-supplier release policy on top.

Attribute names here are friendly names; each protocol maps them to its own
(SAML OIDs, OIDC claims, CAS attributes: docs/saml.md, docs/oidc.md, docs/cas.md).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from ..domain.access import age_on
from ..domain.identifiers import pairwise_id

if TYPE_CHECKING:
    from ..runtime import Runtime

ENTITLEMENT = "urn:mace:dir:entitlement:common-lib-terms"


def age_bracket(birth_year: int | None, today: date) -> str | None:
    if birth_year is None:
        return None
    age = age_on(birth_year, today)
    for upper, label in ((2, "0-2"), (12, "3-12"), (17, "13-17"), (25, "18-25"), (64, "26-64")):
        if age <= upper:
            return label
    return "65+"


def sector_of(supplier) -> str:
    """The pairwise sector: the supplier's configured sector identifier, else its slug."""
    return (supplier.config or {}).get("sector") or supplier.slug


def subject_id(runtime: Runtime, patron, supplier) -> str:
    """The pairwise pseudonymous identifier of a patron for a supplier: never the card number.

    A card linked to other cards (``services.persons``) gives the person's identifier.
    """
    from .persons import subject_uid

    sector = sector_of(supplier)
    return pairwise_id(runtime.keys.pairwise, subject_uid(runtime, patron, sector), sector)


def attributes(runtime: Runtime, patron, library, supplier, *, subject: str | None = None,
               facts: tuple | None = None) -> dict[str, list[str]]:
    """Friendly name → values, after the release policy and the ``broker_release_attributes`` hook.

    ``patron`` is a ``services.patron_changes.PatronView``. ``subject`` (its :func:`subject_id`) and
    ``facts`` (patron, library and supplier facts for the hook) when the caller has them already.
    """
    network = library.partner.network
    scope = network.scope
    pid = subject or subject_id(runtime, patron, supplier)
    attrs: dict[str, list[str]] = {
        "pairwise-id": [f"{pid}@{scope}"],
        "eduPersonEntitlement": [ENTITLEMENT],
        "eduPersonScopedAffiliation": [f"member@{scope}"],
    }
    release = set(supplier.release or [])
    if "library" in release:
        attrs["library"] = [library.code]
    if "network" in release:
        attrs["network"] = [network.slug]
    if "birth_year" in release and patron.birth_year:
        attrs["birthYear"] = [str(patron.birth_year)]
    if "age_bracket" in release:
        bracket = age_bracket(patron.birth_year, runtime.clock.today())
        if bracket:
            attrs["ageBracket"] = [bracket]
    if "display_name" in release and patron.display_name:
        attrs["displayName"] = [patron.display_name]
    if "email" in release and patron.email:
        attrs["mail"] = [patron.email]
    if facts is None or None in facts:
        from . import libraries, patrons, suppliers

        facts = (patrons.facts(patron, runtime.clock.today()), libraries.facts(library, runtime.clock.today()), suppliers.facts(supplier))
    runtime.pm.hook.broker_release_attributes(patron=facts[0], library=facts[1], supplier=facts[2],
                                              attributes=attrs)
    return attrs


def granted_attributes(runtime: Runtime, outcome, subject: str) -> dict[str, list[str]]:
    """:func:`attributes` for a granted access decision (``services.access.AccessOutcome``), reusing its facts."""
    return attributes(runtime, outcome.patron, outcome.library, outcome.supplier, subject=subject,
                      facts=(outcome.patron_facts, outcome.library_facts, outcome.supplier_facts))


def describe_release(supplier) -> list[str]:
    """Plain-language list (French) of what a supplier receives, for the patron's account page."""
    items = ["un identifiant pseudonyme propre à ce fournisseur (jamais votre numéro de carte)",
             "votre qualité d'usager inscrit du réseau"]
    labels = {"library": "le code de votre bibliothèque", "network": "le nom de votre réseau",
              "birth_year": "votre année de naissance", "age_bracket": "votre tranche d'âge",
              "display_name": "vos nom et prénom", "email": "votre adresse e-mail"}
    items += [labels[r] for r in (supplier.release or []) if r in labels]
    return items
