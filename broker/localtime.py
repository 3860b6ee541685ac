"""Dates, times and numbers as the libraries read them: in the network's time zone, in the reader's language.

Sésame stores every moment in UTC. Whatever shows a moment to a person — a
page, an e-mail, an export — converts it here to the ``timezone`` setting
(Europe/Paris by default). During the hour that happens twice when summer time
ends, the time carries its UTC offset ("02:30 UTC+1"), so the two are never
confused. English dates read day first ("6 December 2026"), as in Britain.

No Flask here: e-mails and the command line use the same functions as the pages.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from babel import Locale
from babel import dates as babel_dates
from babel import numbers as babel_numbers

DEFAULT_ZONE = "Europe/Paris"
#: the locale the dates are written in, for each page language (English: day before month)
_DATE_LOCALES = {"fr": "fr_FR", "en": "en_GB"}
#: "short" and "medium" as Sésame writes them (babel's own "short" gives two-digit years)
_DATETIME = {
    "fr": {"short": "dd/MM/y HH:mm", "medium": "d MMM y 'à' HH:mm", "long": "d MMMM y 'à' HH:mm",
           "seconds": "dd/MM/y HH:mm:ss"},
    "en": {"short": "dd/MM/y HH:mm", "medium": "d MMM y, HH:mm", "long": "d MMMM y 'at' HH:mm",
           "seconds": "dd/MM/y HH:mm:ss"},
}
_DATE = {
    "fr": {"short": "dd/MM/y", "medium": "d MMM y", "long": "d MMMM y"},
    "en": {"short": "dd/MM/y", "medium": "d MMM y", "long": "d MMMM y"},
}


@functools.cache
def zone(name: str = DEFAULT_ZONE) -> ZoneInfo:
    return ZoneInfo(name or DEFAULT_ZONE)


@functools.cache
def _locale(language: str) -> Locale:
    return Locale.parse(_DATE_LOCALES.get(_language(language), "fr_FR"))


def _language(language: str | None) -> str:
    base = str(language or "fr").split("_")[0].split("-")[0].lower()
    return base if base in _DATE_LOCALES else "fr"


def to_local(moment: datetime, tz: str = DEFAULT_ZONE) -> datetime:
    """``moment`` in the zone ``tz``; a naive moment is taken as UTC (the database's)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone(tz))


def ambiguous(local: datetime) -> bool:
    """True when this wall-clock time happens twice in its zone (the hour summer time ends)."""
    other = local.replace(fold=1 - local.fold)
    return local.utcoffset() != other.utcoffset()


def utc_offset(local: datetime) -> str:
    """"UTC+1", "UTC+2", "UTC+5:30", "UTC"."""
    offset = local.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "−"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def format_datetime(moment: datetime | None, language: str | None = "fr", tz: str = DEFAULT_ZONE,
                    form: str = "short", *, offset: bool = False) -> str:
    """A moment for a reader: ``form`` short (06/12/2026 14:05), medium, long or seconds.

    ``offset`` always adds the UTC offset; it is added anyway when the time is ambiguous.
    """
    if moment is None:
        return ""
    local = to_local(moment, tz)
    lang = _language(language)
    pattern = _DATETIME[lang].get(form, _DATETIME[lang]["short"])
    text = babel_dates.format_datetime(local, pattern, locale=_locale(lang))
    if offset or ambiguous(local):
        text = f"{text} {utc_offset(local)}"
    return text


def format_date(value: date | datetime | None, language: str | None = "fr", tz: str = DEFAULT_ZONE,
                form: str = "short") -> str:
    """A day for a reader; a datetime gives the day it is in ``tz`` (23:30 UTC may be tomorrow in Paris)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_local(value, tz).date()
    lang = _language(language)
    pattern = _DATE[lang].get(form, _DATE[lang]["short"])
    return babel_dates.format_date(value, pattern, locale=_locale(lang))


def format_time(moment: datetime | None, language: str | None = "fr", tz: str = DEFAULT_ZONE) -> str:
    """Only the time of day: "14:05" (with its UTC offset when ambiguous)."""
    if moment is None:
        return ""
    local = to_local(moment, tz)
    text = babel_dates.format_time(local, "HH:mm", locale=_locale(_language(language)))
    return f"{text} {utc_offset(local)}" if ambiguous(local) else text


def iso_local(moment: datetime | None, tz: str = DEFAULT_ZONE) -> str:
    """For exports: ISO 8601 in the zone, offset included ("2026-12-06T14:05:00+01:00")."""
    if moment is None:
        return ""
    return to_local(moment, tz).replace(microsecond=0).isoformat()


def zone_label(language: str | None = "fr", tz: str = DEFAULT_ZONE) -> str:
    """How a column header names the zone: "heure de Paris", "Paris time", else the zone's name."""
    city = tz.rsplit("/", 1)[-1].replace("_", " ")
    if _language(language) == "en":
        return f"{city} time"
    return f"heure de {city}" if city[:1].lower() not in "aeiouyéè" else f"heure d'{city}"


def format_money(amount, language: str | None = "fr", currency: str = "EUR") -> str:
    """An amount as the reader writes it: "4 458,00 €" (French), "€4,458.00" (English)."""
    if amount is None:
        return ""
    return babel_numbers.format_currency(amount, currency, locale=_locale(_language(language)))


def format_number(value, language: str | None = "fr", decimals: int | None = None) -> str:
    """A number with the reader's separators: "6 452", "0,15" (French); "6,452", "0.15" (English).

    ``decimals`` None keeps the value's own digits (at most three); else exactly that many.
    """
    if value is None:
        return ""
    pattern = "#,##0.###" if decimals is None else "#,##0" + ("." + "0" * decimals if decimals else "")
    return babel_numbers.format_decimal(value, format=pattern, locale=_locale(_language(language)))
