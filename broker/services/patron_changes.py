"""What the access decision knows of a patron, carried in the patron's session and re-read when it changes.

Every assertion, token or ticket needs the patron's membership state, card
validity and library. Reading them costs a connection check-out and a query
per issuance; instead the login (and any re-read) hands back a *snapshot*
(:meth:`PatronView.snapshot`, a few dozen bytes, no name, e-mail or card)
that the web layer keeps in the patron's server-side session. A snapshot is
used only while nothing newer is known about the patron:

- every process keeps :class:`PatronChanges`, the patrons whose row or
  membership changed recently with the stamp (``updated_at``) of the change;
  a transaction committed in this process enters it at once (ORM events), a
  change made by another process (worker, node, CLI) within
  ``RECHECK_SECONDS``: one indexed query lists the rows whose ``updated_at``
  moved since the previous look, with ``OVERLAP_SECONDS`` of overlap for
  commit delays and small clock differences between nodes;
- a snapshot is read again from the database when a known change may not
  be in it: a change stamped after the snapshot's version (the newest
  ``updated_at`` it reflects), or stamped less than ``OVERLAP_SECONDS``
  before its read without being one of the two rows it saw (a transaction
  that started earlier and committed after the read); and when it was read
  before the changes this process knows about begin.

The changes are trusted only while that look succeeds: when the database
does not answer, the next decision fails like any other read (503) within
``RECHECK_SECONDS``. Suppliers that receive a name or an e-mail always get a
fresh read (personal data is never put in the snapshot).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import chain
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, select, union_all
from sqlalchemy.orm import Session, joinedload

from ..clock import Clock, as_utc
from ..db import clock_of
from ..db.models import Membership, Patron
from ..stamped_cache import StampedCache
from .patron_snapshot import PatronFacts, PatronSnapshot

if TYPE_CHECKING:
    from ..db import Database

#: seconds between two looks for patrons changed by another process
RECHECK_SECONDS = 1.0
#: a change stamped up to this long before the previous look is looked for again (commit delay, node clocks)
OVERLAP_SECONDS = 3.0
#: changes are remembered this long; an older snapshot is read again
WINDOW_SECONDS = 900.0
#: the most recent change stamps remembered per patron
STAMPS_PER_PATRON = 8
#: changes older than the window are forgotten this often
PRUNE_EVERY_SECONDS = 60.0


def _epoch(value: datetime | None) -> float:
    if value is None:
        return 0.0
    return as_utc(value).timestamp()


@dataclass(frozen=True, slots=True, kw_only=True)
class PatronView(PatronFacts):
    """What the access decision and the attribute release read of a patron (personal fields only when read)."""

    id: int
    uid: str
    display_name: str | None = None
    email: str | None = None
    category: str | None = None

    @classmethod
    def of(cls, patron: Patron) -> PatronView:
        membership = patron.membership
        stamps = (_epoch(patron.updated_at), _epoch(membership.updated_at) if membership is not None else 0.0)
        return cls(id=patron.id, uid=patron.uid, library_id=patron.library_id,
                   membership=membership.state if membership is not None else None,
                   card_problem=patron.card_problem, card_expires=patron.card_expires,
                   birth_year=patron.birth_year, erased=patron.erased_at is not None, stamps=stamps,
                   display_name=patron.display_name, email=patron.email, category=patron.category,
                   person=patron.person_card.person_id if patron.person_card is not None else None)

    def snapshot(self, read_at: float) -> PatronSnapshot:
        """The decision's fields for the session (``read_at``: wall-clock time before the read)."""
        return PatronSnapshot(patron_id=self.id, library_id=self.library_id, membership=self.membership,
                              card_problem=self.card_problem, card_expires=self.card_expires,
                              birth_year=self.birth_year, erased=self.erased, stamps=self.stamps,
                              # to the millisecond, rounded down: still before the read, and shorter in the session
                              read_at=math.floor(read_at * 1000) / 1000, person=self.person)

    @classmethod
    def from_snapshot(cls, uid: str, snap: PatronSnapshot) -> PatronView:
        """The view a snapshot holds (no personal fields)."""
        return cls(id=snap.patron_id, uid=uid, library_id=snap.library_id, membership=snap.membership,
                   card_problem=snap.card_problem, card_expires=snap.card_expires, birth_year=snap.birth_year,
                   erased=snap.erased, stamps=snap.stamps, person=snap.person)


def load(session: Session, uid: str) -> PatronView | None:
    row = session.scalar(select(Patron).where(Patron.uid == uid).options(joinedload(Patron.membership)))
    return PatronView.of(row) if row is not None else None


@dataclass(frozen=True, slots=True)
class Look:
    """One look for patrons changed by any process: when (wall clock) and what it found."""

    at: float
    since: float
    changes: tuple[tuple[int, float], ...]


class PatronChanges:
    """The patrons changed recently, as this process knows them (see the module's docstring).

    :param recheck: seconds between two looks for patrons changed by another process.
    :param overlap: a change stamped up to this long before the previous look is looked for again.
    """

    def __init__(self, db: Database, *, recheck: float = RECHECK_SECONDS, overlap: float = OVERLAP_SECONDS,
                 clock: Clock | None = None) -> None:
        self.db = db
        #: the runtime's clock (wall time for change stamps, monotonic for the looks' interval)
        self.clock: Clock = clock or clock_of(db.engine)
        self.overlap = overlap
        self._lock = threading.Lock()
        # patron id → its change stamp, or a tuple of its most recent stamps when it changed more than once
        self._stamps: dict[int, float | tuple[float, ...]] = {}
        self._looked_at: float | None = None  # wall-clock time of the last successful look
        self._covers_from = float("inf")  # every change stamped after this is known (or will be at the next look)
        #: the looks for changes made elsewhere; ``looks.fresh()``: a look succeeded less than ``recheck`` ago
        self.looks: StampedCache[Look, Look] = StampedCache(self._look, self._take, interval=recheck,
                                                        clock=self.clock.monotonic)
        # this process knows its own changes at commit
        event.listen(db.sessionmaker, "after_flush", self._note_flush)
        event.listen(db.sessionmaker, "after_commit", self._note_commit)
        event.listen(db.sessionmaker, "after_rollback", self._forget_rollback)

    def view(self, session: Session | None, uid: str, snap: PatronSnapshot | None, *,
             personal: bool = False) -> tuple[PatronView | None, PatronSnapshot | None]:
        """(the patron, a new snapshot when the database was read and the snapshot should be replaced).

        ``session``: the caller's unit of work, or None to open one only if the database must be asked.
        """
        kept = PatronView.from_snapshot(uid, snap) if snap is not None else None  # None: absent (or unreadable)
        if session is None:
            if (snap is not None and kept is not None and not personal and self.looks.fresh()
                    and self.usable(kept, snap.read_at)):
                return kept, None  # nothing to ask the database
            with self.db.session() as own:
                return self._read(own, uid, kept, snap, personal)
        return self._read(session, uid, kept, snap, personal)

    def _read(self, session: Session, uid: str, kept: PatronView | None, snap: PatronSnapshot | None,
              personal: bool) -> tuple[PatronView | None, PatronSnapshot | None]:
        self.revalidate(session)
        usable = (snap is not None and kept is not None and self.usable(kept, snap.read_at)
                  and not self.changed_in(session))
        if usable and not personal:
            return kept, None
        read_at = self.clock.wall()
        view = load(session, uid)
        if view is None or usable or self.changed_in(session):  # never hand out what may roll back
            return view, None
        return view, view.snapshot(read_at)

    def usable(self, view: PatronView, read_at: float) -> bool:
        """May a snapshot of ``view`` read at ``read_at`` still be trusted (see the module's docstring)?"""
        if read_at - self.overlap < self._covers_from:
            return False  # read before what this process can vouch for
        version, doubtful_from = max(view.stamps), read_at - self.overlap
        known = self._stamps.get(view.id, ())
        for stamp in known if isinstance(known, tuple) else (known,):
            if stamp > version or (stamp >= doubtful_from and stamp not in view.stamps):
                return False
        return True

    def note(self, changes: list[tuple[int, float]]) -> None:
        with self._lock:
            for patron_id, stamp in changes:
                known = self._stamps.get(patron_id)
                if known is None:
                    self._stamps[patron_id] = stamp
                elif isinstance(known, tuple):
                    if stamp not in known:
                        self._stamps[patron_id] = tuple(sorted(known + (stamp,))[-STAMPS_PER_PATRON:])
                elif stamp != known:
                    self._stamps[patron_id] = tuple(sorted((known, stamp)))

    def revalidate(self, session: Session) -> None:
        """Look for patrons changed elsewhere, unless a look succeeded less than ``recheck`` seconds ago."""
        self.looks.get(session)

    def _look(self, session: Session) -> Look:
        wall = self.clock.wall()
        since = (self._looked_at if self._looked_at is not None else wall) - self.overlap
        since_at = datetime.fromtimestamp(since, UTC)
        rows = session.execute(union_all(
            select(Patron.id, Patron.updated_at).where(Patron.updated_at > since_at),
            select(Membership.patron_id, Membership.updated_at).where(Membership.updated_at > since_at),
        )).all()
        return Look(wall, since, tuple((patron_id, _epoch(stamp)) for patron_id, stamp in rows))

    def _take(self, look: Look, _session: Session) -> Look:
        self.note(list(look.changes))
        with self._lock:
            horizon = look.at - WINDOW_SECONDS
            if self._looked_at is None:
                self._covers_from = look.since
            elif self._covers_from < horizon - PRUNE_EVERY_SECONDS:  # forget the oldest, once a minute
                kept: dict[int, float | tuple[float, ...]] = {}
                for key, known in self._stamps.items():
                    if isinstance(known, tuple):
                        recent = tuple(v for v in known if v >= horizon)
                        if recent:
                            kept[key] = recent if len(recent) > 1 else recent[0]
                    elif known >= horizon:
                        kept[key] = known
                self._stamps = kept
                self._covers_from = horizon
            self._looked_at = look.at
        return look

    # -- this process knows its own changes at commit ------------------------------------------
    def changed_in(self, session: Session) -> bool:
        """Whether ``session`` holds uncommitted changes to patrons or memberships (flushed or not)."""
        return bool(session.info.get(self)) or any(
            isinstance(obj, (Patron, Membership)) for obj in chain(session.new, session.dirty, session.deleted))

    def _note_flush(self, session: Session, _context: Any) -> None:
        changed = session.info.get(self) or {}
        dirty, deleted = session.dirty, session.deleted  # each a new set at every access: taken once
        for obj in chain(session.new, dirty, deleted):
            if isinstance(obj, Patron):
                patron_id, stamp = obj.id, obj.updated_at
            elif isinstance(obj, Membership):
                patron_id, stamp = obj.patron_id, obj.updated_at
            else:
                continue
            if patron_id is None:
                continue
            if obj in dirty and not session.is_modified(obj, include_collections=False):
                continue  # attributes set to the values they had: no UPDATE, no new stamp
            # a delete leaves no new stamp: "now" makes every earlier snapshot stale
            when = self.clock.wall() if obj in deleted or stamp is None else _epoch(stamp)
            changed[patron_id] = max(changed.get(patron_id, 0.0), when)
        if changed:
            session.info[self] = changed

    def _note_commit(self, session: Session) -> None:
        changed = session.info.pop(self, None)
        if changed:
            self.note(list(changed.items()))

    def _forget_rollback(self, session: Session) -> None:
        session.info.pop(self, None)
