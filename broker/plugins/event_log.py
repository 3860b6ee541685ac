"""Built-in plugin: every event goes to the ``broker.events`` logger as structured data."""

from __future__ import annotations

import dataclasses
import logging

from .. import hookimpl
from ..events import Event

log = logging.getLogger("broker.events")


@hookimpl(trylast=True)
def broker_event(event: Event) -> None:
    if not log.isEnabledFor(logging.INFO):
        return  # one event per issuance: skip building a record nobody will write
    fields = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in dataclasses.asdict(event).items()}
    log.info("%s %s", event.kind, fields.get("outcome") or fields.get("transition") or "", extra={"event": fields})
