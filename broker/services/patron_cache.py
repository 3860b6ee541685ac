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
import weakref
from dataclasses import dataclass
from datetime import date, datetime, timezone
from itertools import chain
from typing import Any

from sqlalchemy import event, select, union_all
from sqlalchemy.orm import Session, joinedload

from ..clock import as_utc
from ..db import clock_of
from ..db.models import Membership, Patron
from ..domain.memberships import MembershipState
from ..domain.patrons import CardProblem

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
_STATES = frozenset(m.value for m in MembershipState)
_PROBLEMS = frozenset(p.value for p in CardProblem)

Snapshot = dict[str, Any]


def _epoch(value: datetime | None) -> float:
    if value is None:
        return 0.0
    return as_utc(value).timestamp()


@dataclass(frozen=True, slots=True)
class PatronView:
    """What the access decision and the attribute release read of a patron (personal fields only when read)."""

    id: int
    uid: str
    library_id: int
    membership: str | None
    card_problem: str | None
    card_expires: date | None
    birth_year: int | None
    erased: bool
    #: the ``updated_at`` of the patron row and of its membership row as read, epoch seconds
    stamps: tuple[float, float]
    display_name: str | None = None
    email: str | None = None
    category: str | None = None
    #: the person this card is linked to (``services.persons``), None for a card on its own
    person: int | None = None

    @classmethod
    def of(cls, patron: Patron) -> "PatronView":
        membership = patron.membership
        stamps = (_epoch(patron.updated_at), _epoch(membership.updated_at) if membership is not None else 0.0)
        return cls(id=patron.id, uid=patron.uid, library_id=patron.library_id,
                   membership=membership.state if membership is not None else None,
                   card_problem=patron.card_problem, card_expires=patron.card_expires,
                   birth_year=patron.birth_year, erased=patron.erased_at is not None, stamps=stamps,
                   display_name=patron.display_name, email=patron.email, category=patron.category,
                   person=patron.person_card.person_id if patron.person_card is not None else None)

    def snapshot(self, read_at: float) -> Snapshot:
        """The decision's fields for the session (``read_at``: wall-clock time before the read)."""
        return {"i": self.id, "l": self.library_id, "m": self.membership, "p": self.card_problem,
                "e": self.card_expires.isoformat() if self.card_expires else None, "b": self.birth_year,
                "x": self.erased, "v": max(self.stamps), "s": list(self.stamps), "r": read_at,
                "k": self.person}

    @classmethod
    def from_snapshot(cls, uid: str, snap: Any) -> "PatronView | None":
        """The view a snapshot holds, or None when anything in it is not exactly as written."""
        try:
            ok = (isinstance(snap, dict) and _is_int(snap["i"]) and _is_int(snap["l"])
                  and (snap["m"] is None or snap["m"] in _STATES) and (snap["p"] is None or snap["p"] in _PROBLEMS)
                  and (snap["b"] is None or _is_int(snap["b"])) and isinstance(snap["x"], bool)
                  and _is_time(snap["v"]) and _is_time(snap["r"]) and isinstance(snap["s"], list)
                  and len(snap["s"]) == 2 and all(_is_time(v) for v in snap["s"]) and snap["v"] == max(snap["s"])
                  and (snap["e"] is None or isinstance(snap["e"], str))
                  and (snap["k"] is None or _is_int(snap["k"])))
            if not ok:
                return None
            expires = date.fromisoformat(snap["e"]) if snap["e"] is not None else None
        except (KeyError, TypeError, ValueError):
            return None
        return cls(id=snap["i"], uid=uid, library_id=snap["l"], membership=snap["m"], card_problem=snap["p"],
                   card_expires=expires, birth_year=snap["b"], erased=snap["x"],
                   stamps=(float(snap["s"][0]), float(snap["s"][1])), person=snap["k"])


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_time(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0


def load(session: Session, uid: str) -> PatronView | None:
    row = session.scalar(select(Patron).where(Patron.uid == uid).options(joinedload(Patron.membership)))
    return PatronView.of(row) if row is not None else None


class PatronChanges:
    """The patrons changed recently, as this process knows them (see the module's docstring)."""

    def __init__(self, db) -> None:
        self.db = db
        self.clock = clock_of(db.engine)  # the runtime's
        self._lock = threading.Lock()
        # patron id → its change stamp, or a tuple of its most recent stamps when it changed more than once
        self._stamps: dict[int, float | tuple[float, ...]] = {}
        self._checked = float("-inf")  # monotonic time of the last successful look
        self._looked_at: float | None = None  # wall-clock time of that look
        self._covers_from = float("inf")  # every change stamped after this is known (or will be at the next look)
        _WATCHERS.setdefault(db.engine, weakref.WeakSet()).add(self)

    def view(self, session: Session | None, uid: str, snap: Snapshot | None, *,
             personal: bool = False) -> tuple[PatronView | None, Snapshot | None]:
        """(the patron, a new snapshot when the database was read and the snapshot should be replaced).

        ``session``: the caller's unit of work, or None to open one only if the database must be asked.
        """
        kept = PatronView.from_snapshot(uid, snap) if snap else None  # None: absent or damaged
        if session is None:
            if (kept is not None and not personal and self.clock.monotonic() - self._checked < RECHECK_SECONDS
                    and self.usable(kept, snap["r"])):  # type: ignore[index]
                return kept, None  # nothing to ask the database
            with self.db.session() as own:
                return self._read(own, uid, kept, snap, personal)
        return self._read(session, uid, kept, snap, personal)

    def _read(self, session: Session, uid: str, kept: PatronView | None, snap: Snapshot | None,
              personal: bool) -> tuple[PatronView | None, Snapshot | None]:
        self.revalidate(session)
        usable = (kept is not None and self.usable(kept, snap["r"])  # type: ignore[index]
                  and not _has_patron_changes(session))
        if usable and not personal:
            return kept, None
        read_at = self.clock.wall()
        view = load(session, uid)
        if view is None or usable or _has_patron_changes(session):  # never hand out what may roll back
            return view, None
        return view, view.snapshot(read_at)

    def usable(self, view: PatronView, read_at: float) -> bool:
        """May a snapshot of ``view`` read at ``read_at`` still be trusted (see the module's docstring)?"""
        if read_at - OVERLAP_SECONDS < self._covers_from:
            return False  # read before what this process can vouch for
        version, doubtful_from = max(view.stamps), read_at - OVERLAP_SECONDS
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
        now = self.clock.monotonic()
        if now - self._checked < RECHECK_SECONDS:
            return
        wall = self.clock.wall()
        since = (self._looked_at if self._looked_at is not None else wall) - OVERLAP_SECONDS
        since_at = datetime.fromtimestamp(since, timezone.utc)
        rows = session.execute(union_all(
            select(Patron.id, Patron.updated_at).where(Patron.updated_at > since_at),
            select(Membership.patron_id, Membership.updated_at).where(Membership.updated_at > since_at),
        )).all()
        self.note([(patron_id, _epoch(stamp)) for patron_id, stamp in rows])
        with self._lock:
            horizon = wall - WINDOW_SECONDS
            if self._looked_at is None:
                self._covers_from = since
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
        self._checked, self._looked_at = now, wall


def changes(runtime) -> PatronChanges:
    """The runtime's change watcher (one per runtime, built on first use)."""
    found = runtime.caches.get("patron_changes")
    if found is None:
        found = runtime.caches.setdefault("patron_changes", PatronChanges(runtime.db))
    return found


# -- this process knows its own changes at commit ---------------------------------------------
#: engine → the watchers reading that database in this process
_WATCHERS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _has_patron_changes(session: Session) -> bool:
    return bool(session.info.get("patrons_changed")) or any(
        isinstance(obj, (Patron, Membership)) for obj in chain(session.new, session.dirty, session.deleted))


@event.listens_for(Session, "after_flush")
def _note_patron_changes(session: Session, _context) -> None:
    changed = session.info.get("patrons_changed") or {}
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
        when = clock_of(session.get_bind()).wall() if obj in deleted or stamp is None else _epoch(stamp)
        changed[patron_id] = max(changed.get(patron_id, 0.0), when)
    if changed:
        session.info["patrons_changed"] = changed


@event.listens_for(Session, "after_commit")
def _announce_committed_changes(session: Session) -> None:
    changed = session.info.pop("patrons_changed", None)
    if not changed:
        return
    bind = session.get_bind()
    engine = getattr(bind, "engine", bind)
    for watcher in list(_WATCHERS.get(engine, ())):
        watcher.note(list(changed.items()))


@event.listens_for(Session, "after_rollback")
def _drop_rolled_back_changes(session: Session) -> None:
    session.info.pop("patrons_changed", None)
