"""Sending the outbox: claim a due message, send it, record the outcome; retry with backoff.

A message is claimed with a conditional UPDATE (still pending, due, not claimed
by a live sender) committed before anything is sent, so two senders — threads,
processes or nodes, on SQLite or PostgreSQL — never both send it. A claim is a
lease: if its sender dies, the message is due again after ``LEASE``.

Failures wait ``mail_retry_seconds``, doubled at each attempt up to
``mail_retry_max_seconds``; after ``mail_max_attempts`` (or at once when the
server refuses the message for good, a 5xx reply) the message is ``failed`` and
shown to the network admins, who may send it again.

Entry points: :func:`send_pending` (one run, for ``broker mail send-pending``
and cron), :func:`run_worker` (a loop for a background thread of a server
process; :func:`start_worker` starts it in one) and :func:`deliver` (right
after the commit that queued a message).
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from ..db.mail_models import OutboxMessage
from ..db.models import Network
from ..metrics import MAIL_ATTEMPTS
from .smtp import Connection, SendError, build_message

if TYPE_CHECKING:
    from ..runtime import Runtime

log = logging.getLogger("broker.mail")

#: how long a sender may hold a message before another one may take it
LEASE = timedelta(minutes=10)
#: messages tried in one run at most
BATCH = 200

Clock = Callable[[], datetime]


@dataclass
class Report:
    """What a run did, and what it left."""

    sent: int = 0
    #: attempts that failed and will be retried later
    retrying: int = 0
    #: messages given up in this run (marked failed)
    failed: int = 0
    #: due messages another sender was handling
    skipped: int = 0
    #: pending messages left after the run (due later, or not tried because the server failed)
    pending: int = 0
    #: failed messages waiting for an admin
    failed_total: int = 0

    @property
    def ok(self) -> bool:
        return self.retrying == 0 and self.failed == 0

    def as_dict(self) -> dict:
        return asdict(self)


def backoff(settings, attempts: int) -> timedelta:
    """Wait after the ``attempts``-th failed attempt: doubled each time, capped."""
    seconds = settings.mail_retry_seconds * 2 ** min(max(attempts - 1, 0), 30)
    return timedelta(seconds=min(seconds, settings.mail_retry_max_seconds))


def _token() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"


def _claimable(now: datetime):
    return (OutboxMessage.state == "pending", OutboxMessage.next_attempt_at <= now,
            or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now))


def _due_ids(db, now: datetime, limit: int) -> list[int]:
    with db.session() as s:
        return list(s.scalars(select(OutboxMessage.id).where(*_claimable(now))
                              .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit)))


def _claim(db, message_id: int, token: str, now: datetime) -> OutboxMessage | None:
    """The message, claimed for this sender; None when it is not due or another sender has it."""
    with db.session() as s:
        result = s.execute(update(OutboxMessage).where(OutboxMessage.id == message_id, *_claimable(now))
                           .values(claimed_by=token, claimed_until=now + LEASE)
                           .execution_options(synchronize_session=False))
        if result.rowcount != 1:
            return None
        return s.get(OutboxMessage, message_id)


def _finish(db, settings, row: OutboxMessage, token: str, now: datetime, error: SendError | None) -> str:
    """Record the attempt; returns sent, retrying or failed."""
    attempts = row.attempts + 1
    if error is None:
        outcome = "sent"
        # the address and the text are personal data: not kept once sent
        values = dict(state="sent", sent_at=now, recipient="", body="", last_error="")
    elif error.permanent or attempts >= settings.mail_max_attempts:
        outcome = "failed"
        values = dict(state="failed", failed_at=now, last_error=error.text[:300])
    else:
        outcome = "retrying"
        values = dict(next_attempt_at=now + backoff(settings, attempts), last_error=error.text[:300])
    with db.session() as s:
        s.execute(update(OutboxMessage).where(OutboxMessage.id == row.id, OutboxMessage.claimed_by == token)
                  .values(attempts=attempts, claimed_by=None, claimed_until=None, **values)
                  .execution_options(synchronize_session=False))
    MAIL_ATTEMPTS.labels(outcome).inc()
    if error is None:
        log.info("e-mail %d sent (attempt %d)", row.id, attempts)
    elif outcome == "failed":
        log.error("e-mail %d failed for good after %d attempts: %s", row.id, attempts, error.text)
    else:
        log.warning("e-mail %d not sent (attempt %d of %d, next in %d s): %s", row.id, attempts,
                    settings.mail_max_attempts, backoff(settings, attempts).total_seconds(), error.text)
    return outcome


def _network_name(db, network_id: int | None) -> str:
    """The name a network's e-mails are sent in (its branding name, else its name); "" for none."""
    if network_id is None:
        return ""
    with db.session() as s:
        network = s.get(Network, network_id)
        if network is None:
            return ""
        return str((network.branding or {}).get("name") or network.name or "")


def _send(runtime: Runtime, ids: Iterable[int] | None, clock: Clock, limit: int) -> Report:
    """Claim and send these messages (None: the due ones, at most ``limit``); the counts of what happened."""
    settings = runtime.settings
    db = runtime.db
    report = Report()
    if settings.smtp_host:
        token = _token()
        candidates = list(ids) if ids is not None else _due_ids(db, clock(), limit)
        conn = Connection(settings)
        names: dict[int | None, str] = {}  # each network's name, looked up once per run
        try:
            for message_id in candidates:
                now = clock()
                row = _claim(db, message_id, token, now)
                if row is None:
                    report.skipped += 1
                    continue
                error = None
                if row.network_id not in names:
                    names[row.network_id] = _network_name(db, row.network_id)
                try:
                    message = build_message(settings, to=row.recipient, subject=row.subject, body=row.body,
                                            message_id=row.message_id, created_at=row.created_at,
                                            network_name=names[row.network_id])
                except (ValueError, TypeError) as exc:  # e.g. a malformed address: no attempt can help
                    error = SendError(f"the message cannot be written: {type(exc).__name__}", connection=False,
                                      permanent=True)
                else:
                    try:
                        conn.send(message)
                    except SendError as exc:
                        error = exc
                outcome = _finish(db, settings, row, token, clock(), error)
                setattr(report, outcome, getattr(report, outcome) + 1)
                if error is not None and error.connection:
                    break  # the server cannot be used now: the other messages wait for the next run
        finally:
            conn.close()
    return report


def send_pending(runtime: Runtime, *, clock: Clock | None = None, limit: int = BATCH) -> Report:
    """Send the due messages once (at most ``limit``), then forget the old ones; what
    ``broker mail send-pending`` and each turn of the worker run."""
    clock = clock or runtime.clock.utcnow
    report = _send(runtime, None, clock, limit)
    _forget_old(runtime.db, runtime.settings, clock())
    with runtime.db.session() as s:
        counts = dict(s.execute(select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)).all())
    report.pending = counts.get("pending", 0)
    report.failed_total = counts.get("failed", 0)
    return report


def deliver(runtime: Runtime, ids: list[int], *, clock: Clock | None = None) -> None:
    """Try these messages now (after the commit that queued them); never raises: the outbox keeps them."""
    try:
        _send(runtime, ids, clock or runtime.clock.utcnow, len(ids))
    except Exception as exc:  # a database hiccup: the worker or cron tries again later
        log.warning("e-mail left in the outbox: %s", type(exc).__name__)


def run_worker(runtime: Runtime, stop_event: threading.Event, clock: Clock | None = None, *,
               poll_seconds: float | None = None) -> None:
    """Send the outbox until ``stop_event`` is set: one run every ``mail_poll_seconds``.

    Meant for a background thread of a server process::

        stop = threading.Event()
        threading.Thread(target=run_worker, args=(runtime, stop), daemon=True, name="mail").start()
        ...
        stop.set()

    Several workers (threads, processes, nodes) may run at once: a message is sent once.
    """
    poll = poll_seconds if poll_seconds is not None else runtime.settings.mail_poll_seconds
    log.info("mail worker started (every %s s)", poll)
    while not stop_event.is_set():
        try:
            send_pending(runtime, clock=clock)
        except Exception as exc:  # keep going: the database or the network may come back
            log.warning("mail worker run failed: %s", type(exc).__name__)
        stop_event.wait(poll)
    log.info("mail worker stopped")


def start_worker(runtime: Runtime, *, clock: Clock | None = None) -> Callable[[], None]:
    """``run_worker`` in a daemon thread named ``mail``; returns a function that stops it and waits
    for the run under way to end (at most ``smtp_timeout`` per step of the message being sent)."""
    stop = threading.Event()
    thread = threading.Thread(target=run_worker, args=(runtime, stop, clock), daemon=True, name="mail")
    thread.start()

    def stop_worker(timeout: float | None = None) -> None:
        stop.set()
        thread.join(timeout)

    return stop_worker


def _forget_old(db, settings, now: datetime) -> None:
    """Sent messages' traces and failed messages older than ``mail_keep_days`` are deleted."""
    cutoff = now - timedelta(days=settings.mail_keep_days)
    with db.session() as s:
        s.execute(delete(OutboxMessage).where(OutboxMessage.state == "sent", OutboxMessage.sent_at < cutoff)
                  .execution_options(synchronize_session=False))
        s.execute(delete(OutboxMessage).where(OutboxMessage.state == "failed", OutboxMessage.failed_at < cutoff)
                  .execution_options(synchronize_session=False))


# -- failed messages, for the network admins -------------------------------------------
def _visible(network_ids: Iterable[int]):
    """Messages of these networks, and those tied to no network."""
    return or_(OutboxMessage.network_id.in_(list(network_ids)), OutboxMessage.network_id.is_(None))


def failed_messages(session: Session, network_ids: Iterable[int], *, limit: int = 200) -> list[OutboxMessage]:
    return list(session.scalars(select(OutboxMessage).where(OutboxMessage.state == "failed", _visible(network_ids))
                                .order_by(OutboxMessage.failed_at.desc(), OutboxMessage.id.desc()).limit(limit)))


def failed_count(session: Session, network_ids: Iterable[int]) -> int:
    return session.scalar(select(func.count()).select_from(OutboxMessage)
                          .where(OutboxMessage.state == "failed", _visible(network_ids))) or 0


def failed_summary(session: Session, network_ids: Iterable[int], *, subjects: int = 5) -> tuple[int, list[str]]:
    """How many failed messages these networks' admins have, and the subjects of the latest (distinct)."""
    count = failed_count(session, network_ids)
    latest: list[str] = []
    for message in failed_messages(session, network_ids, limit=50) if count else ():
        if message.subject not in latest:
            latest.append(message.subject)
    return count, latest[:subjects]


def retry(session: Session, message_id: int, network_ids: Iterable[int] | None = None, *,
          clock: Clock) -> OutboxMessage | None:
    """Put a failed message back in the queue with fresh attempts; None when there is no such failed message
    (among these networks' when ``network_ids`` is given)."""
    query = select(OutboxMessage).where(OutboxMessage.id == message_id, OutboxMessage.state == "failed")
    if network_ids is not None:
        query = query.where(_visible(network_ids))
    row = session.scalar(query)
    if row is None:
        return None
    row.state = "pending"
    row.attempts = 0
    row.next_attempt_at = clock()
    row.failed_at = None
    row.claimed_by = None
    row.claimed_until = None
    return row


def discard(session: Session, message_id: int, network_ids: Iterable[int]) -> OutboxMessage | None:
    """Delete a failed message (its address goes with it); None when there is no such failed message."""
    row = session.scalar(select(OutboxMessage).where(OutboxMessage.id == message_id, OutboxMessage.state == "failed",
                                                     _visible(network_ids)))
    if row is not None:
        session.delete(row)
    return row
