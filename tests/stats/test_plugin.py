"""The built-in statistics plugin offers its commands through the ``broker_cli_commands`` hook."""

from __future__ import annotations

import click

from broker.plugins import manager
from broker.plugins import stats as plugin


def test_the_hook_offers_stats_purge_and_privacy():
    extra = () if "broker.plugins.stats" in manager.BUILTIN_PLUGINS else (plugin,)
    pm = manager.make_plugin_manager(load_entrypoints=False, extra=extra)
    offered = {c.name: c for commands in pm.hook.broker_cli_commands() for c in commands or ()}
    assert {"stats", "purge", "privacy"} <= set(offered)
    assert set(offered["stats"].commands) == {"aggregate", "show", "export", "counter", "report", "harvest",
                                              "import-counter"}
    assert set(offered["suppliers"].commands) == {"sushi", "members", "map"}
    assert set(offered["privacy"].commands) == {"export", "record"}
    assert isinstance(offered["purge"], click.Command)


def test_help_texts(stats_cli):
    for args in (["stats", "--help"], ["stats", "export", "--help"], ["purge", "--help"], ["privacy", "--help"]):
        result = stats_cli(*args)
        assert result.exit_code == 0 and "Usage:" in result.stdout


def test_aggregate_command_reports_each_month(stats_cli):
    first = stats_cli("stats", "aggregate", "--json")
    assert first.exit_code == 0, first.output
    months = first.json()
    assert months and {"month", "status", "accesses", "final"} <= set(months[0])
    assert stats_cli("stats", "aggregate", "--month", "2025-02", "--json").json()[0]["status"] == "aggregated"
    bad = stats_cli("stats", "aggregate", "--month", "2025-2")
    assert bad.exit_code == 2 and "YYYY-MM" in bad.stderr


def test_yearly_report_command(stats_cli, tmp_path):
    out = tmp_path / "report.html"
    result = stats_cli("stats", "report", "--partner", "lisieux", "--year", "2025", "--output", str(out))
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "Ville de Lisieux" in html and "3\u202f047,70\xa0€" in html  # 20,318 inhabitants × 0.15 €
    assert stats_cli("stats", "report", "--partner", "nowhere", "--year", "2025").exit_code == 2
