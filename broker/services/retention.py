"""``broker purge``: keep personal data no longer than the retention settings say (GDPR art. 5-1-e).

- raw usage events older than ``retention_usage_events_days`` are deleted, but
  only once their month is aggregated for good; the month's figures are then
  sealed (never recomputed from what is left);
- registrations refused, or left pending without a decision, for
  ``retention_refused_registrations_days``: the person's data is erased (an
  abandoned one is closed first);
- memberships ended (closed, expired) for ``retention_inactive_membership_days``:
  the person's data is erased;
- expired entries of the embedded SQL state store are removed.

Erasing keeps the anonymous skeleton (uid, library, dates, transitions) so that
past statistics keep their counts; names, e-mail, birth year, card digest and
the free-text reasons of the history go. Running it twice removes nothing more.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, selectinload

from ..db.models import Membership, Patron, StateEntry, UsageEvent
from ..db.staff_models import PendingCard
from ..db.stats_models import StatsMonth
from ..domain.memberships import MembershipState, Transition
from . import audit, memberships, patrons
from .stats.aggregate import DOUBLE_CLICK
from .stats.months import Month, span

if TYPE_CHECKING:
    from ..runtime import Runtime

ABANDONED_REASON = "registration abandoned: no decision within the retention period"


@dataclass(frozen=True)
class PurgeReport:
    """What a purge removed (or, with dry_run, would remove)."""

    dry_run: bool
    usage_events: int
    #: past retention but kept because their month is not aggregated for good yet
    usage_events_waiting: int
    months_sealed: list[str]
    refused_registrations: int
    abandoned_registrations: int
    ended_memberships: int
    pending_cards: int
    state_entries: int

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def removed(self) -> int:
        return (self.usage_events + self.refused_registrations + self.abandoned_registrations +
                self.ended_memberships + self.pending_cards + self.state_entries)


# -- usage events ------------------------------------------------------------------------
def _usage_bound(session: Session, cutoff: datetime) -> tuple[datetime | None, list[Month]]:
    """How far raw events may go: the retention cutoff, held back by the first month not aggregated for good."""
    oldest = session.scalar(select(func.min(UsageEvent.at)).where(UsageEvent.at < cutoff))
    if oldest is None:
        return None, []
    candidates = span(Month.of(oldest), Month.of(cutoff))
    rows = {r.month: r for r in session.scalars(select(StatsMonth).where(StatsMonth.month.in_([str(m) for m in candidates])))}
    bound = cutoff
    for month in candidates:
        row = rows.get(str(month))
        if row is None or not (row.final or row.sealed_at is not None):
            # keep the 30 s before it too: that month's double clicks are judged on them
            bound = min(cutoff, month.start - DOUBLE_CLICK)
            break
    touched = [m for m in candidates if m.start < bound]
    return bound, touched


def _purge_usage(session: Session, cutoff: datetime, now: datetime, dry_run: bool) -> tuple[int, int, list[str]]:
    bound, months = _usage_bound(session, cutoff)
    if bound is None:
        return 0, 0, []
    past = session.scalar(select(func.count()).select_from(UsageEvent).where(UsageEvent.at < cutoff)) or 0
    doomed = session.scalar(select(func.count()).select_from(UsageEvent).where(UsageEvent.at < bound)) or 0
    sealed = []
    if doomed:
        keys = [str(m) for m in months]
        sealed = sorted(session.scalars(select(StatsMonth.month).where(StatsMonth.month.in_(keys),
                                                                        StatsMonth.sealed_at.is_(None))))
        if not dry_run:
            session.execute(delete(UsageEvent).where(UsageEvent.at < bound))
            session.execute(update(StatsMonth).where(StatsMonth.month.in_(keys), StatsMonth.sealed_at.is_(None))
                            .values(sealed_at=now))
    return doomed, past - doomed, sealed


# -- registrations and memberships -------------------------------------------------------
def _erase(session: Session, membership: Membership, now: datetime) -> None:
    patrons.erase(membership.patron, now)
    for event in membership.history:
        event.reason = ""  # a referent's free text may name the person
    session.execute(delete(PendingCard).where(PendingCard.membership_id == membership.id))


def _stale(session: Session, states: tuple[str, ...], before: datetime) -> list[Membership]:
    return list(session.scalars(
        select(Membership).join(Patron, Patron.id == Membership.patron_id)
        .where(Membership.state.in_(states), Membership.updated_at < before, Patron.erased_at.is_(None))
        .options(selectinload(Membership.patron), selectinload(Membership.history))
        .order_by(Membership.id)
    ))


def _purge_memberships(runtime: Runtime, session: Session, now: datetime, dry_run: bool) -> tuple[int, int, int]:
    settings = runtime.settings
    refused_before = now - timedelta(days=settings.retention_refused_registrations_days)
    ended_before = now - timedelta(days=settings.retention_inactive_membership_days)
    refused = _stale(session, (MembershipState.REFUSED.value,), refused_before)
    abandoned = _stale(session, (MembershipState.PENDING.value,), refused_before)
    ended = _stale(session, (MembershipState.CLOSED.value, MembershipState.EXPIRED.value), ended_before)
    if not dry_run:
        for membership in abandoned:
            memberships.change(runtime, session, membership, Transition.CLOSE, actor="system", reason=ABANDONED_REASON)
        for membership in refused + abandoned + ended:
            _erase(session, membership, now)
        session.flush()
    return len(refused), len(abandoned), len(ended)


def _purge_pending_cards(session: Session, dry_run: bool) -> int:
    """Card numbers kept for a registration that is no longer pending (normally deleted at the decision)."""
    orphans = select(PendingCard.membership_id).join(Membership, Membership.id == PendingCard.membership_id).where(
        Membership.state != MembershipState.PENDING.value)
    ids = list(session.scalars(orphans))
    if ids and not dry_run:
        session.execute(delete(PendingCard).where(PendingCard.membership_id.in_(ids)))
    return len(ids)


def _purge_state(runtime: Runtime, session: Session, dry_run: bool) -> int:
    if runtime.state.backend != "sql":
        return 0  # Redis expires its keys itself
    if dry_run:
        return session.scalar(select(func.count()).select_from(StateEntry)
                              .where(StateEntry.expires_at <= runtime.clock.wall())) or 0
    return runtime.state.purge_expired()


def purge(runtime: Runtime, *, dry_run: bool = False, now: datetime | None = None, actor: str = "cli") -> PurgeReport:
    """Apply every retention rule once; with ``dry_run`` only count."""
    now = now or runtime.clock.utcnow()
    cutoff = now - timedelta(days=runtime.settings.retention_usage_events_days)
    with runtime.db.session() as session:
        usage, waiting, sealed = _purge_usage(session, cutoff, now, dry_run)
        refused, abandoned, ended = _purge_memberships(runtime, session, now, dry_run)
        cards = _purge_pending_cards(session, dry_run)
    with runtime.db.session() as session:
        entries = _purge_state(runtime, session, dry_run)
    report = PurgeReport(dry_run=dry_run, usage_events=usage, usage_events_waiting=waiting, months_sealed=sealed,
                         refused_registrations=refused, abandoned_registrations=abandoned, ended_memberships=ended,
                         pending_cards=cards, state_entries=entries)
    if not dry_run:
        audit.record_now(runtime, actor, "privacy.purge", "", **{k: v for k, v in report.as_dict().items()
                                                                if k not in ("dry_run", "months_sealed")})
    return report
