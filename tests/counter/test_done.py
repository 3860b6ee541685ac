"""End to end: members mapped to two libraries, ``broker stats harvest``, then each library's export shows both."""

from __future__ import annotations

import os
from contextlib import contextmanager

from cop_reports import pr_51

from fixtures import stats as statskit
from fixtures.stats import paris

MONTH = "2026-11"


@contextmanager
def _app_on_cli_db(tmp_path):
    from broker.app import create_app

    app = create_app({"secret_key": statskit.SECRET, "database_url": os.environ["BROKER_DATABASE_URL"],
                      "instance_path": str(tmp_path / "instance"), "base_url": "http://localhost",
                      "log_level": "WARNING", "plugins_load_entrypoints": False, "stats_flush_ms": 0})
    try:
        yield app
    finally:
        app.extensions["broker"].close()


def _accesses(app, plan: dict[str, int], slug: str = "cafeyn") -> None:
    """``plan``: library code → distinct patrons, each with two accesses in November."""
    known = statskit.ids(app)
    rows, n = [], 0
    for code, patrons in plan.items():
        for p in range(patrons):
            n += 1
            for hour in (10, 15):
                rows.append({"network_id": known["library_network"][code], "library_id": known["library"][code],
                             "supplier_id": known["supplier"][slug], "patron_key": f"{n:032x}",
                             "at": paris(2026, 11, 3 + p % 20, hour), "outcome": "granted"})
    statskit.insert_events(app, rows)


def test_members_mapped_to_two_libraries_then_export_shows_both(cli, sushi, tmp_path):
    sushi.members["NET-1"] = [{"Customer_ID": "M-7L", "Name": "Médiathèque Les 7 Lieux"},
                              {"Customer_ID": "M-VIRE", "Name": "Médiathèque de Vire"}]
    assert cli("suppliers", "members", "cafeyn", "--refresh").exit_code == 0
    assert cli("suppliers", "map", "cafeyn", "M-7L").exit_code == 0
    assert cli("suppliers", "map", "cafeyn", "M-VIRE").exit_code == 0
    sushi.answers[("M-7L", MONTH)] = ("json", pr_51(MONTH, "M-7L", {"Book": {"Total_Item_Requests": 31,
                                                                            "Unique_Item_Requests": 20}}))
    sushi.answers[("M-VIRE", MONTH)] = ("json", pr_51(MONTH, "M-VIRE", {"Book": {"Total_Item_Requests": 12}}))
    with _app_on_cli_db(tmp_path) as app:
        _accesses(app, {statskit.BAYEUX: 3, statskit.VIRE: 1})
    assert cli("stats", "aggregate", "--month", MONTH).exit_code == 0
    r = cli("stats", "harvest", "--month", MONTH, "--supplier", "cafeyn")
    assert r.exit_code == 0, r.output
    r = cli("stats", "export", "--month", MONTH, "--library", statskit.BAYEUX, "--format", "json")
    assert r.exit_code == 0, r.output
    detail = next(d for d in r.json()["months"][0]["details"] if d["supplier"] == "cafeyn")
    assert (detail["accesses"], detail["unique_patrons"]) == (6, 3)
    assert detail["counter"] == {"Total_Item_Requests": 31, "Unique_Item_Requests": 20}
    assert detail["counter_method"] == "member"
    r = cli("stats", "export", "--month", MONTH, "--library", statskit.VIRE, "--format", "json")
    detail = next(d for d in r.json()["months"][0]["details"] if d["supplier"] == "cafeyn")
    assert detail["counter"] == {"Total_Item_Requests": 12} and detail["accesses"] == 2


def test_network_report_is_shared_and_labelled_in_the_export(cli, sushi, tmp_path):
    sushi.answers[("NET-1", MONTH)] = ("json", pr_51(MONTH, "NET-1", {"Book": {"Total_Item_Requests": 100}}))
    with _app_on_cli_db(tmp_path) as app:
        _accesses(app, {statskit.BAYEUX: 3, statskit.VIRE: 1})
    assert cli("stats", "aggregate", "--month", MONTH).exit_code == 0
    assert cli("stats", "harvest", "--month", MONTH, "--supplier", "cafeyn").exit_code == 0
    shares = {}
    for code in (statskit.BAYEUX, statskit.VIRE):
        r = cli("stats", "export", "--month", MONTH, "--library", code, "--format", "json")
        detail = next(d for d in r.json()["months"][0]["details"] if d["supplier"] == "cafeyn")
        assert detail["counter_method_label"] == "réparti au prorata des accès"
        shares[code] = detail["counter"]["Total_Item_Requests"]
    assert shares == {statskit.BAYEUX: 75, statskit.VIRE: 25}
    r = cli("stats", "export", "--month", MONTH, "--library", statskit.VIRE, "--format", "csv")
    assert "réparti au prorata des accès" in r.output and "Fournisseur : Total_Item_Requests" in r.output
