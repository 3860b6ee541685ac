"""The SIP2 vocabulary Sésame reads: patron status positions and field identifiers."""

from __future__ import annotations

#: The 14 positions of the patron status fixed field, in order (SIP2 2.00).
#: A 'Y' at a position means the condition holds; a blank means it does not.
PATRON_STATUS_FLAGS: tuple[str, ...] = (
    "charge_denied",
    "renewal_denied",
    "recall_denied",
    "hold_denied",
    "card_lost",
    "too_many_charged",
    "too_many_overdue",
    "too_many_renewals",
    "too_many_claims_returned",
    "too_many_lost",
    "excessive_fines",
    "excessive_fees",
    "recall_overdue",
    "too_many_billed",
)

#: The privilege flags a lost or expired card sets as a consequence.
PRIVILEGE_FLAGS = frozenset(PATRON_STATUS_FLAGS[:4])

INSTITUTION = "AO"
PATRON_ID = "AA"
TERMINAL_PASSWORD = "AC"
PATRON_PASSWORD = "AD"
PERSONAL_NAME = "AE"
SCREEN_MESSAGE = "AF"
VALID_PATRON = "BL"
VALID_PASSWORD = "CQ"
EMAIL = "BE"
LOGIN_USER = "CN"
LOGIN_PASSWORD = "CO"
LOCATION = "CP"
#: Extensions: Koha and Evergreen send birth date and category; Evergreen sends expiry in PA.
BIRTH_DATE = "PB"
CATEGORY = "PC"
EVERGREEN_EXPIRY = "PA"
#: The field code Koha's own tests give a ``custom_patron_field`` carrying ``patron.dateexpiry``.
KOHA_EXPIRY = "DE"

#: Fields whose value must never appear in an error or a log line.
SECRET_FIELDS = frozenset({PATRON_PASSWORD, TERMINAL_PASSWORD, LOGIN_PASSWORD})


def status_flags(status: str) -> frozenset[str]:
    """The names of the conditions set ('Y') in a 14-character patron status."""
    return frozenset(name for name, char in zip(PATRON_STATUS_FLAGS, status) if char == "Y")


def status_string(flags: set[str] | frozenset[str]) -> str:
    """The 14-character patron status for a set of condition names."""
    unknown = set(flags) - set(PATRON_STATUS_FLAGS)
    if unknown:
        raise ValueError(f"unknown patron status flags: {sorted(unknown)}")
    return "".join("Y" if name in flags else " " for name in PATRON_STATUS_FLAGS)
