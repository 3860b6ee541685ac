"""Events Sésame records and hands to ``broker_event`` plugins. No personal data in any."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """An access attempt to a supplier: granted, or refused with a reason code."""

    at: datetime
    outcome: str
    protocol: str
    supplier: str | None
    library: str | None
    network: str | None
    patron_key: str | None
    kind: str = field(default="usage", init=False)


@dataclass(frozen=True, slots=True)
class MembershipRecord:
    """A membership changed state."""

    at: datetime
    library: str
    membership_id: int
    transition: str
    from_state: str | None
    to_state: str
    actor: str
    kind: str = field(default="membership", init=False)


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """A staff action or configuration change."""

    at: datetime
    actor: str
    action: str
    target: str
    outcome: str = "ok"
    detail: dict[str, Any] = field(default_factory=dict)
    kind: str = field(default="audit", init=False)


Event = UsageRecord | MembershipRecord | AuditRecord
