"""Reading DR, TR and IR bodies (5.0 and 5.1 shapes) without a server: what is kept, what is refused."""

from __future__ import annotations

import pytest
from cop_reports import item_report_50, item_report_51

from broker.services.counter.item_reports import item_key, read_item_report
from broker.services.counter.sushi import SushiProblem

MONTH = "2026-11"
BOOK = {"name": "Les Misérables", "parent": "Œuvres", "ids": {"DOI": "10.9999/M", "ISBN": "978-2-07-040850-4"},
        "counts": {"Book": {"Total_Item_Requests": 3, "Total_Item_Investigations": 4}}}


def _read(body, report_id):
    return read_item_report(body, report_id, month=MONTH, customer_id="NET-1")


@pytest.mark.parametrize("build", [item_report_50, item_report_51])
def test_the_same_title_in_both_shapes_gives_the_same_usage(build):
    release, items = _read(build("TR", MONTH, "NET-1", [BOOK]), "TR")
    assert release == ("5" if build is item_report_50 else "5.1")
    (key, usage), = items.items()
    assert key == "DOI:10.9999/m" and usage.metrics == {"Total_Item_Requests": 3, "Total_Item_Investigations": 4}
    assert usage.identifiers["ISBN"] == "978-2-07-040850-4" and usage.data_types == {"Book"}


def test_rows_of_one_title_are_added_up_and_tdm_left_out():
    spec = {**BOOK, "counts": {"Book": {"Total_Item_Requests": 3}, "Book_Segment": {"Total_Item_Requests": 2}},
            "tdm": {"Total_Item_Requests": 100}}
    _, items = _read(item_report_51("TR", MONTH, "NET-1", [spec]), "TR")
    (usage,) = items.values()
    assert usage.metrics == {"Total_Item_Requests": 5} and usage.data_types == {"Book", "Book_Segment"}
    _, items = _read(item_report_50("TR", MONTH, "NET-1", [spec]), "TR")
    assert next(iter(items.values())).metrics == {"Total_Item_Requests": 5}


@pytest.mark.parametrize("build", [item_report_50, item_report_51])
def test_an_item_keeps_its_parent(build):
    _, items = _read(build("IR", MONTH, "NET-1", [{**BOOK, "name": "Fantine"}]), "IR")
    assert next(iter(items.values())).parent == "Œuvres"


def test_items_under_a_parent_are_the_51_shape_only():
    body = item_report_51("IR", MONTH, "NET-1", [BOOK])
    body["Report_Header"]["Release"] = "5"
    body["Report_Header"]["Report_Filters"] = [{"Name": "Begin_Date", "Value": f"{MONTH}-01"},
                                              {"Name": "End_Date", "Value": f"{MONTH}-30"}]
    with pytest.raises(SushiProblem, match="5.1 shape in a release 5 report"):
        _read(body, "IR")


@pytest.mark.parametrize("report_id, metric", [("IR", "Unique_Title_Requests"), ("TR", "Searches_Platform"),
                                               ("DR", "Searches_Platform")])
def test_a_metric_the_report_does_not_have_is_refused(report_id, metric):
    body = item_report_51(report_id, MONTH, "NET-1", [{"name": "X", "counts": {"Book": {metric: 1}}}])
    with pytest.raises(SushiProblem, match=f"not a metric of the {report_id} report") as caught:
        _read(body, report_id)
    assert caught.value.kind == "rejected"


def test_a_database_without_identifier_is_known_by_its_name():
    assert item_key("DR", "  Europresse   Plus ", {}) == "name:europresse plus"
    assert item_key("TR", "x" * 400, {}).startswith("sha256:")


def test_identifiers_of_the_wrong_shape_are_refused():
    body = item_report_51("TR", MONTH, "NET-1", [BOOK])
    body["Report_Items"][0]["Item_ID"] = "10.9999/M"
    with pytest.raises(SushiProblem, match="Item_ID"):
        _read(body, "TR")
