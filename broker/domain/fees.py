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


def yearly_fee(population: int, rate: Decimal = DEFAULT_RATE) -> Decimal:
    """Population × rate, rounded to the cent (6,452 × 0.15 = 967.80)."""
    if population < 0:
        raise ValueError("population cannot be negative")
    return (Decimal(population) * Decimal(rate)).quantize(CENT, rounding=ROUND_HALF_UP)
