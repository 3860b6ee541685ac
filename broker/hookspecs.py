"""Every hook a Sésame plugin can implement.

Plugins implement them with ``@broker.hookimpl``; built-in behaviour is
registered as ordinary plugins, so a third-party plugin can add to it or, for
``firstresult`` hooks, override it. Each hook is documented in docs/plugins.md.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:  # pragma: no cover
    from .domain.access import LibraryFacts, PatronFacts, Refusal, SupplierFacts
    from .domain.connectors import ConnectorSpec
    from .events import Event
    from .providers import ProviderSpec
    from .runtime import Runtime

hookspec = pluggy.HookspecMarker("broker")


@hookspec
def broker_connectors() -> Iterable[ConnectorSpec]:
    """Offer SIGB connector types.

    :return: ConnectorSpec records; two plugins offering the same ``name`` is an
        error that names both.
    """


@hookspec
def broker_providers() -> Iterable[ProviderSpec]:
    """Offer outbound protocols (SAML, OpenID Connect, CAS, signed links…).

    :return: ProviderSpec records: a protocol name, a blueprint factory, the
        deep-link handler or the issuance handler used by ``/go/<supplier>``, and
        the per-supplier settings model with its registration function
        (``broker.providers.kit`` builds the CLI command and the admin form from them).
    """


@hookspec
def broker_access_check(
    patron: PatronFacts, library: LibraryFacts, supplier: SupplierFacts
) -> Refusal | None:
    """Add an access policy, run after the built-in rules of the access decision (docs/portal.md).

    :param patron: what the decision knows of the patron (no name, no card).
    :param library: the patron's library, its network and whether its partner is active.
    :param supplier: the supplier asked for.
    :return: a Refusal to deny access, or None to let the other rules decide.
    """


@hookspec
def broker_release_attributes(
    patron: PatronFacts, library: LibraryFacts, supplier: SupplierFacts, attributes: dict[str, list[str]]
) -> None:
    """Edit the attributes released to a supplier, in place.

    :param attributes: friendly attribute name → values, after the supplier's
        release policy was applied. Remove or add entries; return nothing.
    """


@hookspec
def broker_event(event: Event) -> None:
    """Receive every usage, membership and audit event (statistics, audit, notifications).

    :param event: a frozen record; never holds a password, PIN or card number.
    """


@hookspec
def broker_cli_commands() -> Iterable[Any]:
    """Offer extra ``broker`` CLI commands.

    :return: click commands or groups, added to the ``broker`` group.
    """


@hookspec
def broker_background_jobs(runtime: Runtime) -> Iterable[Any]:
    """Offer jobs that ``broker serve`` runs in a thread of every worker, beside the requests.

    :param runtime: the worker's runtime (settings, database, state store, clock).
    :return: callables taking a ``threading.Event``; each loops until the event is set, and
        must be safe to run in every worker of every node at once (claim work in the database).
    """


@hookspec
def broker_patron_logout(runtime: Runtime, session: MutableMapping[str, Any]) -> Iterable[str] | None:
    """Tell the suppliers a patron signed in to that the patron's Sésame session is ending (single logout).

    Called once, in the request that ends the session (the portal's logout, a
    closed account, an OIDC ``end_session``, a CAS or SAML logout), before the
    session is cleared. Every implementation runs: one that raises is logged and
    the others still run, and the patron is logged out whatever happens.

    :param runtime: the broker's runtime (settings, database, state store).
    :param session: the patron's session, still whole: read what your provider kept in it
        (``session["saml"]``, ``session["cas"]``…); the broker clears it afterwards.
    :return: the names of the suppliers told of the logout (the next page lists them), or None.
    """
