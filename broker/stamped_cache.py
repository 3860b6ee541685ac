"""A value kept per process and rebuilt when a stamp says that what it was built from changed.

The hot paths (the access decision, the protocol endpoints, every signature)
read things that rarely change: libraries, suppliers, keys. Each of them is
kept once per process in a :class:`StampedCache`:

- the *stamp source* is a cheap read (one small query, a version token in the
  state store) whose answer changes whenever the value must be rebuilt; it is
  read at most every ``interval`` seconds, so a change made by another process
  (worker, node, CLI) is seen within that delay;
- a change made in this process is seen at once: the code that made it calls
  :meth:`StampedCache.invalidate`, or :meth:`StampedCache.invalidate_on_commit`
  watches the ORM classes committed through the app's own session factory;
- ``max_age`` bounds what a stamp cannot see (a value is rebuilt at least that often);
- time is read from ``clock`` (monotonic seconds: the runtime's components pass
  ``runtime.clock.monotonic``; ``broker.clock.monotonic``, the system clock, unless
  given), so tests move the runtime's clock instead of waiting.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from itertools import chain
from typing import Any, Generic, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from . import clock as _clock

S = TypeVar("S")
T = TypeVar("T")


def _monotonic() -> float:
    return _clock.monotonic()


@dataclass(frozen=True, slots=True)
class _Entry(Generic[S, T]):
    stamp: S
    value: T
    #: clock times: when the value was built, when the stamp was last read
    loaded: float
    checked: float


class StampedCache(Generic[S, T]):
    """``load(stamp)`` kept until ``stamp()`` answers something else.

    :param stamp: reads what changes when the value must be rebuilt; compared with ``==``.
    :param load: builds the value from the stamp just read.
    :param interval: seconds during which the value is used without reading the stamp.
    :param max_age: seconds after which the value is rebuilt even if the stamp did not change.
    :param clock: monotonic seconds.
    :param keep_on: errors of the stamp source under which the value held is kept (and the
        stamp read again after ``interval``); without a value they are raised.

    ``get`` and ``fresh`` pass their positional arguments on to ``stamp`` and ``load``
    (``load(stamp, *args)``): a caller's own database session, for instance.
    A stamp source or a load that raises leaves the cache as it was: the next
    ``get`` tries again.
    """

    def __init__(self, stamp: Callable[..., S], load: Callable[..., T], *, interval: float,
                 max_age: float = math.inf, clock: Callable[[], float] | None = None,
                 keep_on: tuple[type[Exception], ...] = ()) -> None:
        self.stamp = stamp
        self.load = load
        #: seconds; public so that an operator's setting or a test can change it on a running cache
        self.interval = interval
        self.max_age = max_age
        self.clock = clock or _monotonic
        self.keep_on = keep_on
        self._lock = threading.RLock()
        self._entry: _Entry[S, T] | None = None
        self._generation = 0  # moved by invalidate(): a load that began before is not kept
        self._watched: tuple[type, ...] = ()

    def get(self, *args: Any) -> T:
        """The value, reading the stamp (and rebuilding) only when ``interval`` has passed."""
        entry, now = self._entry, self.clock()
        if entry is not None and self._usable(entry, now):
            return entry.value
        with self._lock:
            entry, now = self._entry, self.clock()
            if entry is not None and self._usable(entry, now):
                return entry.value
            generation = self._generation
            try:
                stamp = self.stamp(*args)
            except self.keep_on:
                if entry is None:
                    raise
                self._keep(generation, replace(entry, checked=now))
                return entry.value
            if entry is not None and stamp == entry.stamp and now - entry.loaded < self.max_age:
                self._keep(generation, replace(entry, checked=now))
                return entry.value
            value = self.load(stamp, *args)
            self._keep(generation, _Entry(stamp, value, loaded=now, checked=now))
            return value

    def fresh(self) -> bool:
        """Whether ``get`` would answer without reading the stamp."""
        entry = self._entry
        return entry is not None and self._usable(entry, self.clock())

    def peek(self) -> T | None:
        """The value held, without reading anything (None when there is none)."""
        entry = self._entry
        return entry.value if entry is not None else None

    @property
    def checked_at(self) -> float | None:
        """When the stamp was last read (clock time), None before the first read."""
        entry = self._entry
        return entry.checked if entry is not None else None

    def invalidate(self) -> None:
        """Forget the value: the next ``get`` reads the stamp and rebuilds."""
        self._generation += 1
        self._entry = None

    # -- changes made in this process ------------------------------------------------------
    def invalidate_on_commit(self, sessions: sessionmaker, watched: tuple[type, ...]) -> None:
        """Invalidate when a session of ``sessions`` commits an added, changed or deleted ``watched`` object.

        Only the sessions of that factory are watched (the app's own, ``Database.sessionmaker``):
        another app in the same process keeps its own caches.
        """
        self._watched = watched
        event.listen(sessions, "after_flush", self._note_flush)
        event.listen(sessions, "after_commit", self._after_commit)
        event.listen(sessions, "after_rollback", self._after_rollback)

    def changed_in(self, session: Session) -> bool:
        """Whether ``session`` holds uncommitted changes to the watched classes (flushed or not)."""
        return bool(session.info.get(self)) or _touches(session, self._watched)

    def _note_flush(self, session: Session, _context: Any) -> None:
        if _touches(session, self._watched):
            session.info[self] = True

    def _after_commit(self, session: Session) -> None:
        if session.info.pop(self, False):
            self.invalidate()

    def _after_rollback(self, session: Session) -> None:
        session.info.pop(self, None)

    def _keep(self, generation: int, entry: _Entry[S, T]) -> None:
        if generation == self._generation:  # not invalidated while the stamp or the value was read
            self._entry = entry

    def _usable(self, entry: _Entry[S, T], now: float) -> bool:
        return now - entry.checked < self.interval and now - entry.loaded < self.max_age


def _touches(session: Session, watched: tuple[type, ...]) -> bool:
    return bool(watched) and any(isinstance(obj, watched)
                                 for obj in chain(session.new, session.dirty, session.deleted))
