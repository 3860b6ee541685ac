"""SVG charts parse and describe themselves; months follow the French calendar."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest

from broker.services.stats.months import Month, months_of_year, parse_year, span
from broker.web.stats.charts import LABEL_CHARS, WIDTH, Series, bar_chart, line_chart, nice_max, shorten, ticks

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


# an all-zero chart has an axis of 0 alone (its top was 1, drawn as "1, 0, 0, 0, 0")
@pytest.mark.parametrize("value, top", [(0, 0), (1, 1), (7, 10), (12, 20), (240, 250), (251, 500), (1001, 2000)])
def test_axis_top(value, top):
    assert nice_max(value) == top


@pytest.mark.parametrize("top, graduations", [(0, [0]), (1, [0, 1]), (2, [0, 1, 2]), (3, [0, 1, 2, 3]),
                                              (10, [0, 2, 4, 6, 8, 10]), (20, [0, 5, 10, 15, 20]),
                                              (250, [0, 50, 100, 150, 200, 250]), (2000, [0, 500, 1000, 1500, 2000])])
def test_graduations_are_whole_and_distinct(top, graduations):
    assert ticks(top) == graduations


def _axis_labels(svg) -> list[str]:
    return [t.text for t in svg.iter(f"{SVG}text") if t.get("text-anchor") == "end" and t.text
            and t.text.replace("\u202f", "").isdigit()]


def test_an_all_zero_series_has_a_zero_axis():
    svg = ET.fromstring(str(line_chart("z", "Zéro", [f"m{i}" for i in range(12)],
                                       [Series("Accès", [0] * 12), Series("Usagers", [0] * 12)])))
    assert _axis_labels(svg) == ["0"]
    small = ET.fromstring(str(line_chart("s", "Peu", ["a", "b", "c"], [Series("Accès", [0, 1, 2])])))
    assert _axis_labels(small) == ["0", "1", "2"]
    bars = ET.fromstring(str(bar_chart("b", "Rien ce mois", [("Cafeyn", 0), ("PNB", 0)])))
    assert all(float(r.get("width")) == 0 for r in bars.iter(f"{SVG}rect"))


def test_month_labels_stay_inside_the_frame():
    labels = [f"{m} 2025" for m in ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.",
                                     "oct.", "nov.", "déc.")]
    svg = ET.fromstring(str(line_chart("t", "Année", labels, [Series("Accès", list(range(12)))])))
    last = next(t for t in svg.iter(f"{SVG}text") if t.text == "déc. 2025")
    assert last.get("text-anchor") == "end" and float(last.get("x")) <= WIDTH


def test_long_supplier_names_are_shortened_whole_in_the_tooltip():
    name = "Philharmonie de Paris – la Philharmonie à la demande"
    svg = ET.fromstring(str(bar_chart("b", "Fournisseurs", [(name, 3), ("Cafeyn", 1)])))
    label = next(t for t in svg.iter(f"{SVG}text") if t.find(f"{SVG}title") is not None)
    shown = "".join(label.itertext()).replace(name, "")
    assert len(shown) <= LABEL_CHARS and shown.endswith("…") and label.find(f"{SVG}title").text == name
    assert name in svg.find(f"{SVG}desc").text
    assert shorten("Cafeyn", LABEL_CHARS) == "Cafeyn"


def test_month_bounds_follow_paris_time_across_daylight_saving():
    march = Month(2025, 3)
    assert march.start == datetime(2025, 2, 28, 23, 0, tzinfo=UTC)  # winter time, UTC+1
    assert march.end == datetime(2025, 3, 31, 22, 0, tzinfo=UTC)    # summer time, UTC+2
    assert Month.of(datetime(2025, 3, 31, 22, 30)) == Month(2025, 4)
    assert Month.of(datetime(2025, 12, 31, 23, 30, tzinfo=UTC)) == Month(2026, 1)
    assert Month(2025, 1).previous() == Month(2024, 12) and Month(2024, 12).next() == Month(2025, 1)
    assert [str(m) for m in Month(2025, 2).back(3)] == ["2024-12", "2025-01", "2025-02"]
    assert len(span(Month(2024, 11), Month(2025, 2))) == 4


def test_years():
    now = datetime(2025, 6, 15, tzinfo=UTC)
    assert parse_year("2025", now=now) == 2025
    assert [str(m) for m in months_of_year(2025, now=now)][-1] == "2025-06"
    for bad in ("2026", "1999", "25", "20 25", "", None, "２０２５"):
        with pytest.raises(Exception) as caught:
            parse_year(bad, now=now)
        assert caught.value.__class__.__name__ == "InvalidInput"
