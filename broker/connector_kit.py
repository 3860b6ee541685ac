"""What a connector plugin builds on besides its connector: its registration, its commands, and the broker's checks
and audit log.

A connector offers a :class:`~broker.domain.connectors.ConnectorSpec` through
the ``broker_connectors`` hook; :func:`connector_hook` writes that hook for a
plugin offering one connector type, and :class:`Deadline` shares one time
budget among the steps of a call. One that keeps patrons in Sésame (``local``)
also offers commands (``broker_cli_commands``) and writes its own rows;
everything it needs from the broker for that is here, so that it never
reaches into the CLI or the services:

- :func:`command`: run a click command with the runtime and a unit of work
  (committed when it returns; a :class:`~broker.errors.BrokerError` rolls it
  back, prints one line and exits with its code), with :func:`json_option`,
  :func:`emit` and :class:`Progress` for what it prints; :func:`library_import`
  for a command importing a library's file;
- :func:`library`: the library with this code (NotFound otherwise);
- :func:`clean_text` and :func:`clean_email`: the broker's checks of typed text;
- :func:`audit`: one entry in the audit log, in the caller's unit of work.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from . import hookimpl
from .cli import Progress, emit, json_option, library_import
from .cli import with_runtime as command
from .db.models import Library
from .domain.connectors import Connector, ConnectorSpec, ConnectorUnavailable
from .services import audit as _audit
from .services import validation
from .services.libraries import get_library

if TYPE_CHECKING:
    from .runtime import Runtime

__all__ = ["connector_hook", "Deadline", "command", "json_option", "emit", "Progress", "library_import", "library", "clean_text", "clean_email", "audit"]


def connector_hook(name: str, factory: Callable[..., Connector], settings_model: type[Any],
                   description: str = "") -> Callable[[], list[ConnectorSpec]]:
    """The ``broker_connectors`` hook of a plugin that offers one connector type.

    In the plugin module: ``broker_connectors = connector_hook("my-sigb", MyConnector, MySettings, "…")``;
    the arguments are those of :class:`~broker.domain.connectors.ConnectorSpec`.
    """
    spec = ConnectorSpec(name=name, factory=factory, settings_model=settings_model, description=description)

    @hookimpl
    def broker_connectors() -> list[ConnectorSpec]:
        return [spec]

    return broker_connectors


class Deadline:
    """The time left for one call of a connector: every step gets what remains of ``seconds``.

    A subclass names the SIGB in ``late``, what ``remaining()`` raises as ConnectorUnavailable
    once the time is up.
    """

    late = "the SIGB did not answer in time"

    def __init__(self, seconds: float) -> None:
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        left = self._end - time.monotonic()
        if left <= 0:
            raise ConnectorUnavailable(self.late)
        return left


def library(session: Session, code: str) -> Library:
    """The library with this code; NotFound names the code otherwise."""
    return get_library(session, code)


def clean_text(value: str | None, what: str, *, max_len: int = 200, required: bool = True) -> str:
    """Stripped text without control characters, at most ``max_len`` long; InvalidInput names ``what``."""
    return validation.text(value, what, max_len=max_len, required=required)


def clean_email(value: str | None, *, required: bool = True) -> str | None:
    """A plausible e-mail address (None when empty and not required); InvalidInput otherwise."""
    return validation.email(value, required=required)


def audit(runtime: Runtime, session: Session, actor: str, action: str, target: str = "", *, outcome: str = "ok",
          **detail: Any) -> None:
    """Record ``actor`` doing ``action`` on ``target`` in the audit log (never a card, PIN or password)."""
    _audit.record(runtime, session, actor, action, target, outcome=outcome, **detail)
