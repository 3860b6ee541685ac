"""SVG charts parse and describe themselves; months follow the French calendar."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timezone

import pytest

from broker.services.stats.months import Month, months_of_year, parse_year, span
from broker.web.stats.charts import Series, bar_chart, line_chart, nice_max

SVG = "{http://www.w3.org/2000/svg}"


def test_line_chart_parses_and_says_its_numbers():
    svg = ET.fromstring(str(line_chart("t", "Accès <12 mois>", ["janv. 2025", "févr. 2025", "mars 2025"],
                                       [Series("Accès", [3, 0, 1250]), Series("Usagers", [1, 0, 40], dash="6 4")])))
    assert svg.tag == f"{SVG}svg" and svg.get("role") == "img"
    assert svg.find(f"{SVG}title").text == "Accès <12 mois>"
    desc = svg.find(f"{SVG}desc").text
    assert "mars 2025 1\u202f250" in desc and "Usagers" in desc
    assert len(svg.findall(f".//{SVG}polyline")) == 2
    # the drawing itself is hidden from screen readers: the title and desc speak for it
    assert svg.find(f"{SVG}g").get("aria-hidden") == "true"


def test_charts_escape_names_and_survive_no_data():
    svg = ET.fromstring(str(bar_chart("b", "Fournisseurs", [("<script>alert(1)</script>", 2), ("A & B", 0)])))
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert "<script>alert(1)</script>" in texts and "A & B" in texts
    empty = ET.fromstring(str(bar_chart("e", "Rien", [])))
    assert empty.find(f"{SVG}desc").text == "—"
    flat = ET.fromstring(str(line_chart("z", "Zéro", ["a"], [Series("x", [0])])))
    assert flat.find(f".//{SVG}circle") is not None


@pytest.mark.parametrize("value, top", [(0, 1), (1, 1), (7, 10), (12, 20), (240, 250), (251, 500), (1001, 2000)])
def test_axis_top(value, top):
    assert nice_max(value) == top


def test_month_bounds_follow_paris_time_across_daylight_saving():
    march = Month(2025, 3)
    assert march.start == datetime(2025, 2, 28, 23, 0, tzinfo=timezone.utc)  # winter time, UTC+1
    assert march.end == datetime(2025, 3, 31, 22, 0, tzinfo=timezone.utc)    # summer time, UTC+2
    assert Month.of(datetime(2025, 3, 31, 22, 30)) == Month(2025, 4)
    assert Month.of(datetime(2025, 12, 31, 23, 30, tzinfo=timezone.utc)) == Month(2026, 1)
    assert Month(2025, 1).previous() == Month(2024, 12) and Month(2024, 12).next() == Month(2025, 1)
    assert [str(m) for m in Month(2025, 2).back(3)] == ["2024-12", "2025-01", "2025-02"]
    assert len(span(Month(2024, 11), Month(2025, 2))) == 4


def test_years():
    now = datetime(2025, 6, 15, tzinfo=timezone.utc)
    assert parse_year("2025", now=now) == 2025
    assert [str(m) for m in months_of_year(2025, now=now)][-1] == "2025-06"
    for bad in ("2026", "1999", "25", "20 25", "", None, "２０２５"):
        with pytest.raises(Exception) as caught:
            parse_year(bad, now=now)
        assert caught.value.__class__.__name__ == "InvalidInput"
