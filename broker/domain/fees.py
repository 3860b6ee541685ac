"""Partners' yearly fees under their agreements."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

DEFAULT_RATE = Decimal("0.15")
CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class AgreementTerms:
    """The dates and rate of a partnership agreement (both dates included)."""

    start: date
    end: date
    rate: Decimal = DEFAULT_RATE

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"the agreement ends ({self.end}) before it starts ({self.start})")
        if self.rate < 0:
            raise ValueError("the rate cannot be negative")

    def in_force(self, day: date) -> bool:
        return self.start <= day <= self.end

    def covers_year(self, year: int) -> bool:
        """The fee is due for each calendar year the agreement touches."""
        return self.start <= date(year, 12, 31) and self.end >= date(year, 1, 1)


def days_in_year(year: int) -> int:
    return (date(year, 12, 31) - date(year, 1, 1)).days + 1


def days_covered(start: date, end: date, year: int) -> int:
    """Days of ``year`` within ``start``..``end`` (both included); 0 when they do not meet."""
    first = max(start, date(year, 1, 1))
    last = min(end, date(year, 12, 31))
    return max(0, (last - first).days + 1)


def prorated_fee(population: int, shares: list[tuple[Decimal, int]], year_days: int) -> Decimal:
    """Population × rate × days covered / days in the year, summed over ``(rate, days)`` shares, to the cent.

    A whole year gives population × rate (6,452 × 0.15 = 967.80); an agreement that starts on
    1 July of a 365-day year pays 184/365 of it.
    """
    if population < 0:
        raise ValueError("population cannot be negative")
    if year_days <= 0:
        raise ValueError("a year has days")
    total = sum((Decimal(population) * Decimal(rate) * days for rate, days in shares), Decimal(0))
    return (total / year_days).quantize(CENT, rounding=ROUND_HALF_UP)
