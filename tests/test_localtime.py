"""Dates and times in the network's time zone (Europe/Paris by default), summer time included."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from broker import localtime
from broker.config import load_settings
from broker.errors import ConfigError

UTC = UTC


def test_winter_is_utc_plus_one_summer_utc_plus_two():
    assert localtime.format_datetime(datetime(2026, 1, 15, 13, 5, tzinfo=UTC)) == "15/01/2026 14:05"
    assert localtime.format_datetime(datetime(2026, 7, 15, 13, 5, tzinfo=UTC)) == "15/07/2026 15:05"


def test_naive_moments_are_the_databases_utc():
    assert localtime.format_datetime(datetime(2026, 1, 15, 13, 5)) == "15/01/2026 14:05"


def test_spring_forward_skips_two_oclock():
    # 29 March 2026: 01:59:59 UTC+1 is followed by 03:00 UTC+2
    assert localtime.format_datetime(datetime(2026, 3, 29, 0, 59, tzinfo=UTC)) == "29/03/2026 01:59"
    assert localtime.format_datetime(datetime(2026, 3, 29, 1, 0, tzinfo=UTC)) == "29/03/2026 03:00"


def test_the_hour_that_happens_twice_carries_its_offset():
    # 25 October 2026: 02:00–02:59 happens at 00:xx UTC (summer) and again at 01:xx UTC (winter)
    first = localtime.format_datetime(datetime(2026, 10, 25, 0, 30, tzinfo=UTC))
    second = localtime.format_datetime(datetime(2026, 10, 25, 1, 30, tzinfo=UTC))
    assert first == "25/10/2026 02:30 UTC+2"
    assert second == "25/10/2026 02:30 UTC+1"
    # just outside that hour, no label is needed
    assert localtime.format_datetime(datetime(2026, 10, 24, 23, 59, tzinfo=UTC)) == "25/10/2026 01:59"
    assert localtime.format_datetime(datetime(2026, 10, 25, 2, 0, tzinfo=UTC)) == "25/10/2026 03:00"
    assert localtime.format_time(datetime(2026, 10, 25, 1, 30, tzinfo=UTC)) == "02:30 UTC+1"


def test_the_day_is_the_libraries_day():
    # 23:30 UTC on 31 December is already New Year's Day in Paris
    assert localtime.format_date(datetime(2026, 12, 31, 23, 30, tzinfo=UTC)) == "01/01/2027"
    assert localtime.format_date(date(2026, 12, 31)) == "31/12/2026"  # a date is a day, not converted


def test_english_reads_day_first():
    moment = datetime(2026, 12, 6, 13, 5, tzinfo=UTC)
    assert localtime.format_datetime(moment, "en") == "06/12/2026 14:05"
    assert localtime.format_date(moment, "en", form="long") == "6 December 2026"
    assert localtime.format_datetime(moment, "en", form="long") == "6 December 2026 at 14:05"
    assert localtime.format_date(moment, "fr", form="long") == "6 décembre 2026"
    assert localtime.format_datetime(moment, "fr", form="long") == "6 décembre 2026 à 14:05"


def test_another_zone_and_an_explicit_offset():
    moment = datetime(2026, 1, 15, 13, 5, tzinfo=UTC)
    assert localtime.format_datetime(moment, tz="America/Cayenne") == "15/01/2026 10:05"
    assert localtime.format_datetime(moment, offset=True) == "15/01/2026 14:05 UTC+1"
    assert localtime.utc_offset(localtime.to_local(moment, "Asia/Kolkata")) == "UTC+5:30"
    assert localtime.utc_offset(localtime.to_local(moment, "UTC")) == "UTC"


def test_exports_keep_the_offset():
    assert localtime.iso_local(datetime(2026, 7, 1, 8, 0, 0, 123, tzinfo=UTC)) == "2026-07-01T10:00:00+02:00"
    assert localtime.iso_local(None) == ""


def test_zone_labels():
    assert localtime.zone_label("fr") == "heure de Paris"
    assert localtime.zone_label("en") == "Paris time"
    assert localtime.zone_label("fr", "America/Martinique") == "heure de Martinique"
    assert localtime.zone_label("fr", "Indian/Reunion") == "heure de Reunion"
    assert localtime.zone_label("fr", "Europe/Amsterdam") == "heure d'Amsterdam"


def test_nothing_gives_an_empty_string():
    assert localtime.format_datetime(None) == localtime.format_date(None) == localtime.format_time(None) == ""


@pytest.mark.parametrize("zone", ["Europe/Paris", "America/Guadeloupe", "Pacific/Noumea", "UTC"])
def test_timezone_setting_accepts_iana_names(zone):
    assert load_settings({"secret_key": "x" * 32, "timezone": zone}, environ={}).timezone == zone


@pytest.mark.parametrize("zone", ["", "Paris", "Europe/Nowhere", "../etc/passwd", "/etc/localtime"])
def test_timezone_setting_refuses_anything_else(zone):
    with pytest.raises(ConfigError, match="timezone"):
        load_settings({"secret_key": "x" * 32, "timezone": zone}, environ={})
