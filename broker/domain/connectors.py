"""The contract between Sésame and a library's SIGB: the Connector protocol.

A connector plugin returns :class:`ConnectorSpec` records from the
``broker_connectors`` hook. Sésame validates a library's settings with the
spec's ``settings_model`` (a pydantic model) when the library is configured,
then calls ``factory(settings)`` to build the connector.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol, runtime_checkable

from .patrons import PatronRecord


class ConnectorError(Exception):
    """Root of the errors a connector raises."""

    reason = "error"


class InvalidCredentials(ConnectorError):
    """The SIGB refused the card and secret (or cannot tell which was wrong)."""

    reason = "credentials"


class UnknownPatron(InvalidCredentials):
    """The SIGB says no patron has this card.

    A subclass of InvalidCredentials so that the login page answers both alike;
    only operators' tools (``broker connectors check``) tell them apart.
    """

    reason = "unknown"


class ConnectorUnavailable(ConnectorError):
    """The SIGB did not answer in time, refused the connection, or its breaker is open."""

    reason = "unavailable"


class ConnectorProtocolError(ConnectorUnavailable):
    """The SIGB answered something that is not a valid answer; ``raw`` holds it."""

    reason = "protocol"

    def __init__(self, message: str, raw: str | bytes | None = None) -> None:
        super().__init__(message)
        self.raw = raw


@dataclass(frozen=True, slots=True)
class Health:
    """The answer of :meth:`Connector.check`."""

    ok: bool
    detail: str = ""
    latency_ms: float | None = None


@runtime_checkable
class Connector(Protocol):
    """What every SIGB connector does. Every network call has a timeout."""

    def authenticate(self, card: str, secret: str) -> PatronRecord:
        """Check card + PIN/password; return the patron or raise InvalidCredentials / ConnectorUnavailable."""
        ...

    def lookup(self, card: str) -> PatronRecord | None:
        """Find a patron by card without a secret (for referents); None when unknown."""
        ...

    def check(self) -> Health:
        """Tell whether the SIGB answers."""
        ...


@dataclass(frozen=True, slots=True)
class ConnectorSpec:
    """A connector type offered by a plugin.

    :param name: the type name used in library configuration (``sip2``, ``ldap``…).
    :param factory: builds a connector from validated settings; may also take
        keyword ``context`` (a :class:`ConnectorContext`) when it accepts one.
    :param settings_model: a pydantic model class; unknown keys must be refused
        (``model_config = ConfigDict(extra="forbid")``). Fields typed
        ``SecretStr`` are encrypted at rest.
    :param description: one line for ``broker plugins list``.
    """

    name: str
    factory: Callable[..., Connector]
    settings_model: type[Any]
    description: str = ""


@dataclass(frozen=True, slots=True)
class LocalPatronEntry:
    """A patron kept in Sésame's own database, as the ``local`` connector reads it."""

    pin_hash: str
    name: str
    email: str | None
    birth_date: date | None
    category: str | None
    expires: date | None
    blocked: str | None


class LocalPatronStore(Protocol):
    """The patrons Sésame keeps itself, for libraries whose SIGB has no usable interface."""

    def find(self, library_code: str, card: str) -> LocalPatronEntry | None:
        """The patron of ``library_code`` with this (normalized) card, or None.

        Raises :class:`ConnectorUnavailable` when the database does not answer.
        """
        ...

    def ping(self) -> None:
        """Raise when the database does not answer."""
        ...


@dataclass(frozen=True, slots=True)
class ConnectorContext:
    """What Sésame hands a connector factory besides its settings (and nothing else of Sésame)."""

    library_code: str
    #: the patrons kept in Sésame's database, for the ``local`` connector; None where none is offered
    local_patrons: LocalPatronStore | None = None
    #: the broker's clock (a ``broker.clock.Clock``: ``wall()``, ``monotonic()``, ``utcnow()``,
    #: ``today()``): read dates from it, not from the system, so that tests can move time
    #: (None when the connector is built outside a broker: use ``broker.clock.SYSTEM``)
    clock: Any = None
