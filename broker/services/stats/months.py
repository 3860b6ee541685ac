"""Calendar months as the statistics count them: a month in French local time, checked input.

A library director reads "January" as January in France, so a month runs from
midnight on the 1st, Paris time; events are stored in UTC and every query
takes the month's bounds converted to UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from ...clock import utcnow
from ...errors import InvalidInput

#: the calendar of the statistics (the networks Sésame serves are in France)
TIMEZONE = ZoneInfo("Europe/Paris")
#: no network used Sésame before this; an earlier month is a typing error
FIRST_YEAR = 2000
_MONTH = re.compile(r"^([0-9]{4})-([0-9]{2})$")
_YEAR = re.compile(r"^[0-9]{4}$")


@dataclass(frozen=True, order=True)
class Month:
    """A calendar month, written ``YYYY-MM``."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str | None, *, allow_future: bool = False, now: datetime | None = None) -> Month:
        """``YYYY-MM`` → Month; InvalidInput for a malformed, implausible or (by default) future month."""
        value = (text or "").strip()
        match = _MONTH.match(value)
        if match is None:
            raise InvalidInput(f"month {value[:20]!r}: expected YYYY-MM, e.g. 2025-03", code="invalid_month")
        year, month = int(match.group(1)), int(match.group(2))
        if not 1 <= month <= 12:
            raise InvalidInput(f"month {value!r}: the month number must be 01 to 12", code="invalid_month")
        if year < FIRST_YEAR:
            raise InvalidInput(f"month {value!r}: no statistics before {FIRST_YEAR}", code="invalid_month")
        found = cls(year, month)
        if not allow_future and found > cls.current(now):
            raise InvalidInput(f"month {value!r} is in the future", code="future_month")
        return found

    @classmethod
    def of(cls, moment: datetime) -> Month:
        """The month an instant falls in (naive instants are UTC, as the database stores them)."""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        local = moment.astimezone(TIMEZONE)
        return cls(local.year, local.month)

    @classmethod
    def current(cls, now: datetime | None = None) -> Month:
        return cls.of(now or utcnow())

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def start(self) -> datetime:
        """Midnight on the 1st, local time, as a UTC instant."""
        return datetime(self.year, self.month, 1, tzinfo=TIMEZONE).astimezone(UTC)

    @property
    def end(self) -> datetime:
        """The start of the next month (exclusive bound)."""
        return self.next().start

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> Month:
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    def back(self, count: int) -> list[Month]:
        """The ``count`` months ending with this one, oldest first."""
        months = [self]
        while len(months) < count:
            months.append(months[-1].previous())
        return months[::-1]

    def is_over(self, now: datetime | None = None, grace: timedelta = timedelta(0)) -> bool:
        return (now or utcnow()) >= self.end + grace


def parse_year(text: str | None, *, now: datetime | None = None) -> int:
    """``YYYY`` → year; InvalidInput for a malformed, implausible or future year."""
    value = (text or "").strip() if isinstance(text, str) else str(text or "")
    if not _YEAR.match(value):
        raise InvalidInput(f"year {value[:20]!r}: expected YYYY, e.g. 2025", code="invalid_year")
    year = int(value)
    if year < FIRST_YEAR:
        raise InvalidInput(f"year {value!r}: no statistics before {FIRST_YEAR}", code="invalid_year")
    if year > Month.current(now).year:
        raise InvalidInput(f"year {value!r} is in the future", code="future_year")
    return year


def months_of_year(year: int, now: datetime | None = None) -> list[Month]:
    """The months of ``year`` up to the current one."""
    last = Month.current(now)
    return [m for m in (Month(year, n) for n in range(1, 13)) if m <= last]


def span(first: Month, last: Month) -> list[Month]:
    """Every month from ``first`` to ``last`` included."""
    months = []
    month = first
    while month <= last:
        months.append(month)
        month = month.next()
    return months


def iso_utc(moment: datetime | None) -> str | None:
    """An instant as ISO 8601 with its UTC offset (SQLite gives it back without one)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat(timespec="seconds")
