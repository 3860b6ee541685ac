"""The audit trail: every staff action and configuration change, with who, when and why."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from ..db.models import AuditEvent
from ..events import AuditRecord

if TYPE_CHECKING:
    from ..runtime import Runtime


def record(runtime: Runtime, session: Session, actor: str, action: str, target: str = "", *,
           outcome: str = "ok", **detail: Any) -> None:
    at = runtime.clock.utcnow()
    session.add(AuditEvent(at=at, actor=actor, action=action, target=target, detail=detail, outcome=outcome))
    runtime.emit(AuditRecord(at=at, actor=actor, action=action, target=target, outcome=outcome, detail=detail))


def record_now(runtime: Runtime, actor: str, action: str, target: str = "", *, outcome: str = "ok", **detail: Any) -> None:
    """Record in its own transaction (for refusals, whose main transaction is rolled back)."""
    with runtime.db.session() as session:
        record(runtime, session, actor, action, target, outcome=outcome, **detail)
