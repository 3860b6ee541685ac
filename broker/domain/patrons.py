"""What a SIGB tells Sésame about a patron, and how card numbers are handled."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum


class CardProblem(StrEnum):
    """Why the SIGB considers a card unusable."""

    EXPIRED = "expired"
    LOST = "lost"
    BLOCKED = "blocked"


@dataclass(frozen=True, slots=True)
class PatronRecord:
    """A patron as the home library's SIGB describes them.

    Only what Sésame needs: never a password or PIN. ``blocked`` is None for a
    card in good standing, else a short reason (``lost``, ``blocked`` or the
    SIGB's own words); ``expires`` is the card's expiry date when the SIGB
    sends it.
    """

    card: str
    name: str = ""
    email: str | None = None
    birth_date: date | None = None
    category: str | None = None
    expires: date | None = None
    blocked: str | None = None
    lost: bool = False
    home_branch: str | None = None
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def birth_year(self) -> int | None:
        return self.birth_date.year if self.birth_date else None

    def card_problem(self, today: date) -> CardProblem | None:
        """The reason this card may not be used today, or None."""
        if self.lost:
            return CardProblem.LOST
        if self.blocked:
            return CardProblem.BLOCKED
        if self.expires is not None and self.expires < today:
            return CardProblem.EXPIRED
        return None


_SPACES = re.compile(r"[\s\-]+")


def normalize_card(card: str, *, case: str = "upper", strip_spaces: bool = True) -> str:
    """Return the canonical form of a card number as a library writes it.

    ``case`` is ``upper``, ``lower`` or ``keep``; spaces and dashes typed by a
    patron are removed unless the library says they are significant.
    """
    value = card.strip()
    if strip_spaces:
        value = _SPACES.sub("", value)
    if case == "upper":
        value = value.upper()
    elif case == "lower":
        value = value.lower()
    return value


def mask_card(card: str) -> str:
    """A card number safe to show or log: all but the last 4 characters hidden."""
    if len(card) <= 4:
        return "•" * len(card)
    return "•" * (len(card) - 4) + card[-4:]
