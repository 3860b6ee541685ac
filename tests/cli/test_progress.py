"""Long commands show a progress bar on a terminal, and nothing of it with --json or in a pipe."""

from __future__ import annotations

import pytest

import broker.cli as cli_module
from broker.cli import Progress
from cli.clikit import script_network


def _rows(n: int) -> str:
    return "card,email,state\n" + "".join(f"{1000 + i},,pending\n" for i in range(n))


@pytest.mark.parametrize("terminal", [True, False])
def test_memberships_import_shows_progress_only_on_a_terminal(broker_cli, tmp_path, monkeypatch, terminal):
    monkeypatch.setattr(cli_module, "show_progress", lambda: terminal)
    script_network(broker_cli)
    f = tmp_path / "m.csv"
    f.write_text(_rows(5))
    r = broker_cli("memberships", "import", str(f), "--library", "FR-141186101")
    assert r.exit_code == 0 and "imported: 5" in r.stdout
    assert ("Memberships" in r.stderr) is terminal
    f.write_text(_rows(5).replace("100", "200"))
    quiet = broker_cli("memberships", "import", str(f), "--library", "FR-141186101", "--json")
    assert quiet.exit_code == 0 and quiet.json()["imported"] == 5 and "Memberships" not in quiet.stderr


def test_progress_counts_every_step(monkeypatch):
    monkeypatch.setattr(cli_module, "show_progress", lambda: True)
    seen = []

    class Bar:
        def __init__(self, **kw):
            seen.append(("length", kw["length"]))

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            seen.append(("closed",))

        def update(self, n):
            seen.append(("update", n))

    monkeypatch.setattr(cli_module.click, "progressbar", lambda **kw: Bar(**kw))
    with Progress("Months", quiet=False) as progress:
        for done in range(1, 4):
            progress(done, 3)
    assert seen == [("length", 3), ("update", 1), ("update", 1), ("update", 1), ("closed",)]
    seen.clear()
    with Progress("Months", quiet=True) as progress:
        progress(1, 3)
    assert seen == []


def test_the_services_report_their_steps(broker_cli, tmp_path):
    from broker.services import memberships

    script_network(broker_cli)
    app = cli_module.get_app()
    runtime = app.extensions["broker"]
    calls = []
    try:
        with app.app_context(), runtime.db.session() as s:
            memberships.import_rows(runtime, s, "FR-141186101", memberships.parse_import(_rows(3)),
                                    progress=lambda done, total: calls.append((done, total)))
    finally:
        runtime.close()
        cli_module._APP = None
    assert calls == [(1, 6), (2, 6), (3, 6), (4, 6), (5, 6), (6, 6)]


def test_local_patrons_import_reports_its_steps(broker_cli, tmp_path):
    from connectors.local import patrons as local_patrons

    script_network(broker_cli)
    assert broker_cli("libraries", "add", "FR-LOCAL1", "--name", "Médiathèque d'essai", "--partner", "conde",
                      "--connector", "local").exit_code == 0
    app = cli_module.get_app()
    runtime = app.extensions["broker"]
    calls = []
    text = "card,name,birth_date,expires,pin\nL1,Alex,1990-01-01,2030-12-31,1234\nL2,Sam,1991-01-01,2030-12-31,1234\n"
    try:
        with app.app_context(), runtime.db.session() as s:
            local_patrons.import_rows(runtime, s, "FR-LOCAL1", local_patrons.parse(text),
                                      progress=lambda done, total: calls.append((done, total)))
    finally:
        runtime.close()
        cli_module._APP = None
    assert calls[-1] == (4, 4) and [d for d, _ in calls] == sorted(d for d, _ in calls) and len(calls) == 5
