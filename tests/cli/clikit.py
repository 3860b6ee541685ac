"""Shared by the CLI tests: a small network scripted through the ``broker`` commands."""

from __future__ import annotations


def script_network(run):
    assert run("networks", "add", "calvados", "--name", "Bibliothèque du Calvados").exit_code == 0
    r = run("partners", "add", "conde", "--name", "Condé-en-Normandie", "--kind", "commune", "--population", "6452",
            "--network", "calvados", "--agreement", "2022-01-01:2025-12-31")
    assert r.exit_code == 0, r.output
    r = run("libraries", "add", "FR-141186101", "--name", "Médiathèque de Condé", "--partner", "conde",
            "--connector", "local", "--registration", "auto")
    assert r.exit_code == 0, r.output
