"""The access decision's snapshot of a patron, as the patron's session keeps it.

A login, and any decision that had to read the patron again, hands back a
:class:`PatronSnapshot` (see ``services.patron_changes`` for when it is
trusted). It holds the decision's fields only: no name, e-mail or card.

Stored form (``to_wire``), a JSON object with one-letter keys to keep the
server-side session small::

    {"i": patron id, "l": library id, "m": membership state | null, "p": card problem | null,
     "e": card expiry | null, "b": birth year | null, "x": erased, "v": max(s),
     "s": [patron row stamp, membership row stamp], "r": read time, "k": person id | null}

Times are epoch seconds, written as short as they can be without changing a bit:

- ``r`` to the millisecond (as it is read); inside a logged-in patron's entry it is
  written ``"d"``: whole milliseconds after (or before) the login time ``t``;
- each stamp of ``s`` is the change time of a row, to the microsecond: when ``r`` is
  to the millisecond it is written as an integer, the microseconds from ``r`` to the
  stamp; a float is the stamp itself (as written before, and for any other value);
- ``e`` is the number of days since 1970-01-01 (a "YYYY-MM-DD" string is read too).

``v``, the null fields and ``x`` when false are left out when written (the session stays
small), and read as max(s), null and false when absent. :meth:`PatronSnapshot.from_wire`
returns None for anything not exactly as written, so a damaged or foreign
value only means the patron is read again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from ..domain.memberships import MembershipState
from ..domain.patrons import CardProblem
from ..wire import is_int, is_time, micros, millis

_STATES = frozenset(m.value for m in MembershipState)
_PROBLEMS = frozenset(p.value for p in CardProblem)
#: fields the stored form may leave out (null, or ``v`` = max(s))
_OPTIONAL = ("m", "p", "e", "b", "k", "v", "x")
_EPOCH_DAY = date(1970, 1, 1).toordinal()


@dataclass(frozen=True, slots=True, kw_only=True)
class PatronFacts:
    """The fields of a patron that the access decision reads: the session's snapshot and the database's view
    (``services.patron_changes.PatronView``) both hold them."""

    library_id: int
    membership: str | None
    card_problem: str | None
    card_expires: date | None
    birth_year: int | None
    erased: bool
    #: the ``updated_at`` of the patron row and of its membership row as read, epoch seconds
    stamps: tuple[float, float]
    #: the person this card is linked to (``services.persons``), None for a card on its own
    person: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PatronSnapshot(PatronFacts):
    """What the access decision needs of a patron, read at ``read_at`` (wall clock, epoch seconds)."""

    patron_id: int
    read_at: float

    @property
    def version(self) -> float:
        """The newest change this snapshot reflects."""
        return max(self.stamps)

    def to_wire(self, login_at: float | None = None) -> dict[str, Any]:
        """The stored form; ``login_at``: the logged-in patron's login time, to write ``r`` from it."""
        data: dict[str, Any] = {"i": self.patron_id, "l": self.library_id}
        read_ms = millis(self.read_at)
        if read_ms is None:
            data["s"] = list(self.stamps)
        else:
            stamps: list[int | float] = []
            for stamp in self.stamps:
                us = micros(stamp)
                stamps.append(us - read_ms * 1000 if us is not None else stamp)
            data["s"] = stamps
        login_ms = millis(login_at) if login_at is not None else None
        if read_ms is not None and login_ms is not None:
            data["d"] = read_ms - login_ms
        else:
            data["r"] = self.read_at
        if self.erased:
            data["x"] = True
        expires = self.card_expires.toordinal() - _EPOCH_DAY if self.card_expires else None
        for key, value in (("m", self.membership), ("p", self.card_problem), ("b", self.birth_year),
                           ("e", expires), ("k", self.person)):
            if value is not None:
                data[key] = value
        return data

    @classmethod
    def from_wire(cls, value: Any, login_at: float | None = None) -> PatronSnapshot | None:
        """The snapshot ``value`` holds, or None when anything in it is not exactly as written.

        ``login_at``: the login time of the logged-in patron entry it comes from (for ``d``).
        """
        try:
            if not isinstance(value, dict):
                return None
            absent_read, absent_version = "r" not in value, "v" not in value
            value = {**dict.fromkeys(_OPTIONAL), "x": False, **value}  # the short form leaves these out
            if absent_read and "d" in value:  # the read time, from the login time
                login_ms = millis(login_at) if login_at is not None else None
                if login_ms is None or not is_int(value["d"]):
                    return None
                value["r"] = (login_ms + value["d"]) / 1000
            stamps = value.get("s")
            if isinstance(stamps, list) and any(is_int(v) for v in stamps):  # microseconds from the read time
                read_ms = millis(value.get("r"))
                if read_ms is None:
                    return None
                value["s"] = stamps = [(read_ms * 1000 + v) / 10**6 if is_int(v) else v for v in stamps]
            if absent_version and isinstance(stamps, list):
                value["v"] = max(stamps, default=None)  # left out: max(s)
            if is_int(value["e"]):
                value["e"] = date.fromordinal(_EPOCH_DAY + value["e"]).isoformat()
            ok = (is_int(value["i"]) and is_int(value["l"])
                  and (value["m"] is None or value["m"] in _STATES)
                  and (value["p"] is None or value["p"] in _PROBLEMS)
                  and (value["b"] is None or is_int(value["b"])) and isinstance(value["x"], bool)
                  and is_time(value["v"]) and is_time(value["r"]) and isinstance(value["s"], list)
                  and len(value["s"]) == 2 and all(is_time(v) for v in value["s"])
                  and value["v"] == max(value["s"])
                  and (value["e"] is None or isinstance(value["e"], str))
                  and (value["k"] is None or is_int(value["k"])))
            if not ok:
                return None
            expires = date.fromisoformat(value["e"]) if value["e"] is not None else None
        except (KeyError, TypeError, ValueError, OverflowError):
            return None
        return cls(patron_id=value["i"], library_id=value["l"], membership=value["m"], card_problem=value["p"],
                   card_expires=expires, birth_year=value["b"], erased=value["x"],
                   stamps=(float(value["s"][0]), float(value["s"][1])), read_at=value["r"], person=value["k"])
