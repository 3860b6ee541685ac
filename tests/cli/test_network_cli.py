"""The CLI scripts a whole network from nothing; bad input exits 2 and writes nothing."""

import json

import pytest

from cli.clikit import script_network


def test_script_a_network_and_fees(broker_cli):
    script_network(broker_cli)
    r = broker_cli("fees", "--year", "2025", "--json")
    assert r.exit_code == 0
    assert r.json() == [{"partner": "conde", "name": "Condé-en-Normandie", "kind": "commune", "network": "calvados",
                         "days": 365, "year_days": 365, "population": 6452, "rate": 0.15, "fee": 967.80}]
    assert '"fee": 967.80' in r.stdout  # money keeps its cents in the JSON text
    assert broker_cli("fees", "--year", "2026", "--json").json() == []
    r = broker_cli("fees", "--year", "2025", "--csv")
    assert r.stdout.splitlines()[1].endswith(",6452,0.15,967.80")
    listed = broker_cli("libraries", "list", "--json").json()
    assert listed[0]["code"] == "FR-141186101" and listed[0]["network"] == "calvados"
    assert broker_cli("networks", "list", "--json").json()[0]["slug"] == "calvados"
    partners = broker_cli("partners", "list", "--json").json()
    assert partners[0]["agreements"] == ["2022-01-01:2025-12-31@0.15"]


@pytest.mark.parametrize("args, message", [
    (["partners", "add", "p", "--name", "P", "--kind", "commune", "--population", "-3", "--network", "calvados"], "negative"),
    (["partners", "add", "p", "--name", "P", "--kind", "commune", "--population", "12.5", "--network", "calvados"], "whole number"),
    (["partners", "add", "p", "--name", "P", "--kind", "ville", "--population", "12", "--network", "calvados"], "ville"),
    (["partners", "add", "p", "--name", "P", "--kind", "commune", "--population", "12", "--network", "nowhere"], "unknown network"),
    (["partners", "add", "p", "--name", "P", "--kind", "commune", "--population", "12", "--network", "calvados",
      "--agreement", "2025-12-31:2025-01-01"], "before the start"),
    (["partners", "add", "p", "--name", "P", "--kind", "commune", "--population", "12", "--network", "calvados",
      "--agreement", "2025-02-30:2026-01-01"], "YYYY-MM-DD"),
    (["partners", "add", "conde", "--name", "P", "--kind", "commune", "--population", "12", "--network", "calvados"], "already exists"),
    (["libraries", "add", "FR-141186101", "--name", "L", "--partner", "conde", "--connector", "local"], "already exists"),
    (["libraries", "add", "FR-2", "--name", "L", "--partner", "nobody", "--connector", "local"], "unknown partner"),
    (["libraries", "add", "FR-2", "--name", "L", "--partner", "conde", "--connector", "nosuch"], "unknown connector"),
    (["libraries", "add", "FR-2", "--name", "L", "--partner", "conde", "--connector", "sip2", "--set", "port=abc"], "port"),
    (["libraries", "add", "FR-2", "--name", "L", "--partner", "conde", "--connector", "local", "--set", "colour=red"], "colour"),
    (["networks", "add", "Bad Slug", "--name", "x"], "slug"),
    (["networks", "add", "calvados", "--name", "again"], "already exists"),
    (["partners", "add", "--bogus"], "No such option"),
    (["staff", "add", "ref@example.org", "--role", "referent", "--scope", "nowhere"], "unknown library"),
])
def test_bad_input_exits_2_and_writes_nothing(broker_cli, args, message):
    script_network(broker_cli)
    before = broker_cli("partners", "list", "--json").json(), broker_cli("libraries", "list", "--json").json()
    r = broker_cli(*args)
    assert r.exit_code == 2, r.output
    assert message in r.output
    assert "Traceback" not in r.output
    assert r.output.strip().count("\n") <= 3
    after = broker_cli("partners", "list", "--json").json(), broker_cli("libraries", "list", "--json").json()
    assert before == after


def _import(broker_cli, what: str, path, content: str, *options: str):
    """Write ``content`` to ``path``, then run ``broker <what> import <path> --library FR-141186101 [options]``."""
    path.write_text(content)
    return broker_cli(what, "import", str(path), "--library", "FR-141186101", *options)


def test_memberships_import_is_all_or_nothing(broker_cli, tmp_path):
    script_network(broker_cli)
    bad = tmp_path / "bad.csv"
    r = _import(broker_cli, "memberships", bad, "card,email,state\n111,a@example.org,active\n222,not-an-email,pending\n")
    assert r.exit_code == 2 and "line 3" in r.output
    assert broker_cli("memberships", "list", "--library", "FR-141186101", "--json").json() == []
    for content, line in [("card,email\n1,a@b.fr\n", "line 1"), ("card,email,state\n1,,active\n1,,pending\n", "line 3"),
                          ("card,email,state\n1,,flying\n", "line 2"), ("card,email,state\n1,a@b.fr\n", "line 2")]:
        r = _import(broker_cli, "memberships", bad, content)
        assert r.exit_code == 2 and line in r.output, (content, r.output)
    good = tmp_path / "good.csv"
    r = _import(broker_cli, "memberships", good,
                "card,email,state\n111,a@example.org,active\n222,,pending\n333,c@example.org,suspended\n", "--json")
    assert r.exit_code == 0 and r.json()["imported"] == 3
    rows = broker_cli("memberships", "list", "--library", "FR-141186101", "--json").json()
    assert [row["state"] for row in rows] == ["active", "pending", "suspended"]
    assert all("111" not in json.dumps(row) or row["card"].endswith("111") for row in rows)
    r = broker_cli("memberships", "import", str(good), "--library", "FR-141186101")
    assert r.exit_code == 2 and "already registered" in r.output
    pending = broker_cli("memberships", "list", "--library", "FR-141186101", "--state", "pending", "--json").json()
    assert len(pending) == 1


def test_membership_decisions_and_history(broker_cli, tmp_path):
    script_network(broker_cli)
    f = tmp_path / "m.csv"
    f.write_text("card,email,state\n111,a@example.org,pending\n")
    broker_cli("memberships", "import", str(f), "--library", "FR-141186101")
    r = broker_cli("memberships", "approve", "FR-141186101", "111", "--reason", "vérifié", "--json")
    assert r.exit_code == 0 and r.json()["state"] == "active"
    assert broker_cli("memberships", "approve", "FR-141186101", "111").exit_code == 2
    r = broker_cli("memberships", "suspend", "FR-141186101", "111", "--reason", "carte prêtée", "--json")
    assert r.json()["state"] == "suspended"
    r = broker_cli("memberships", "reactivate", "FR-141186101", "111", "--json")
    assert r.json()["state"] == "active"
    assert broker_cli("memberships", "refuse", "FR-141186101", "999").exit_code == 2


def test_staff_add_and_plugins_list(broker_cli):
    script_network(broker_cli)
    r = broker_cli("staff", "add", "Ref@Example.org", "--role", "referent", "--scope", "FR-141186101", "--json")
    assert r.exit_code == 0 and r.json()["email"] == "ref@example.org" and len(r.json()["password"]) >= 12
    r = broker_cli("staff", "add", "admin@example.org", "--role", "admin", "--scope", "calvados", "--password-stdin",
                   input="a-long-enough-password\n")
    assert r.exit_code == 0
    assert broker_cli("staff", "add", "ref@example.org", "--role", "referent", "--scope", "FR-141186101").exit_code == 2
    assert broker_cli("staff", "add", "x@example.org", "--role", "admin", "--scope", "FR-141186101").exit_code == 2
    plugins = broker_cli("plugins", "list", "--json").json()
    assert {"sip2", "ldap", "koha", "local"} <= set(plugins["connectors"])


def test_local_patrons_import(broker_cli, tmp_path):
    script_network(broker_cli)
    f = tmp_path / "p.csv"
    header = "card,name,birth_date,expires,pin\nA1,Ana,1990-01-01,2030-01-01,1234\n"
    r = _import(broker_cli, "patrons", f, header + "A2,Bo,,2020-01-01,99\n")
    assert r.exit_code == 2 and "line 3" in r.output
    assert _import(broker_cli, "patrons", f, header + "A2,Bo,,2020-01-01,9999\n").exit_code == 0
    ok = broker_cli("connectors", "check", "FR-141186101", "a1", "--password", "1234", "--json")
    assert ok.exit_code == 0 and ok.json()["ok"] and ok.json()["card"] == "••"  # short cards are fully masked
    bad = broker_cli("connectors", "check", "FR-141186101", "A1", "--password", "0000", "--json")
    assert bad.exit_code == 1 and bad.json()["reason"] == "credentials"
    unknown = broker_cli("connectors", "check", "FR-141186101", "ZZ", "--password", "0000", "--json")
    assert unknown.exit_code == 1 and unknown.json()["reason"] == "unknown"
    expired = broker_cli("connectors", "check", "FR-141186101", "A2", "--password", "9999", "--json")
    assert expired.exit_code == 1 and expired.json()["reason"] == "card_invalid" and expired.json()["detail"] == "expired"


def test_fees_are_pro_rata_when_an_agreement_starts_within_the_year(broker_cli):
    script_network(broker_cli)
    r = broker_cli("partners", "add", "mid", "--name", "Mi-année", "--kind", "commune", "--population", "6452",
                   "--network", "calvados", "--agreement", "2025-07-01:2027-06-30")
    assert r.exit_code == 0, r.output
    rows = {row["partner"]: row for row in broker_cli("fees", "--year", "2025", "--json").json()}
    assert rows["mid"]["days"] == 184 and rows["mid"]["year_days"] == 365 and rows["mid"]["fee"] == 487.88
    assert rows["conde"]["fee"] == 967.80


def test_partners_edit_changes_population_and_amends_or_adds_agreements(broker_cli):
    script_network(broker_cli)
    r = broker_cli("partners", "edit", "conde", "--name", "Condé", "--population", "7000", "--year", "2026", "--json")
    assert r.exit_code == 0, r.output
    assert r.json()["name"] == "Condé" and r.json()["population"] == 7000
    fees = {y: broker_cli("fees", "--year", str(y), "--json").json() for y in (2025,)}
    assert fees[2025][0]["population"] == 6452  # the figure of the years before stays for them
    r = broker_cli("partners", "edit", "conde", "--agreement", "2022-01-01:2026-12-31", "--json")
    assert r.json()["agreements"] == ["2022-01-01:2026-12-31@0.15"]
    r = broker_cli("partners", "edit", "conde", "--agreement", "2027-01-01:2030-12-31", "--rate", "0.2", "--json")
    assert r.json()["agreements"] == ["2022-01-01:2026-12-31@0.15", "2027-01-01:2030-12-31@0.2"]
    assert broker_cli("fees", "--year", "2026", "--json").json()[0]["population"] == 7000


@pytest.mark.parametrize("args, message", [
    (["--population", "-3"], "negative"),
    (["--population", "12.5"], "whole number"),
    (["--agreement", "2030-01-01:2029-01-01"], "before the start"),
    (["--agreement", "2025-01-01:2026-12-31"], "already has an agreement"),
    (["--name", "Nouveau", "--agreement", "2025-13-01:2026-12-31"], "YYYY-MM-DD"),
    (["--year", "2026"], "required"),
])
def test_partners_edit_refuses_bad_input_and_writes_nothing(broker_cli, args, message):
    script_network(broker_cli)
    before = broker_cli("partners", "list", "--json").json()
    r = broker_cli("partners", "edit", "conde", *args)
    assert r.exit_code == 2, r.output
    assert message in r.stderr
    assert broker_cli("partners", "list", "--json").json() == before


def test_staff_accounts_from_the_cli(broker_cli):
    script_network(broker_cli)
    assert broker_cli("staff", "add", "chef@example.org", "--role", "admin", "--scope", "calvados").exit_code == 0
    r = broker_cli("staff", "invite", "ref@example.org", "--role", "referent", "--scope", "FR-141186101", "--json")
    assert r.exit_code == 0 and "/staff/invite/sinv_" in r.json()["link"] and "password" not in r.json()
    assert broker_cli("staff", "invite", "ref@example.org", "--role", "referent",
                      "--scope", "FR-141186101").exit_code == 2  # already active
    r = broker_cli("staff", "deactivate", "chef@example.org")
    assert r.exit_code == 2 and "last active admin" in r.stderr
    assert broker_cli("staff", "deactivate", "ref@example.org", "--json").json()["active"] is False
    assert broker_cli("staff", "reactivate", "ref@example.org", "--json").json()["active"] is True
    r = broker_cli("staff", "reset-password", "chef@example.org", "--json")
    assert r.exit_code == 0 and "/staff/invite/sinv_" in r.json()["link"]
    assert broker_cli("staff", "reset-totp", "chef@example.org", "--json").json()["changed"] is False
    assert broker_cli("staff", "deactivate", "nobody@example.org").exit_code == 2
    listed = {row["email"]: row for row in broker_cli("staff", "list", "--json").json()}
    assert listed["ref@example.org"]["active"] is True


def test_libraries_disable_and_enable(broker_cli):
    script_network(broker_cli)
    r = broker_cli("libraries", "disable", "FR-141186101", "--json")
    assert r.exit_code == 0, r.output
    assert r.json()["enabled"] is False
    assert broker_cli("libraries", "list", "--json").json()[0]["enabled"] is False
    assert broker_cli("libraries", "enable", "FR-141186101", "--json").json()["enabled"] is True
    r = broker_cli("libraries", "disable", "FR-NOPE")
    assert r.exit_code == 2 and "unknown library" in r.output


def test_libraries_edit_checks_everything_before_writing(broker_cli):
    script_network(broker_cli)
    r = broker_cli("libraries", "edit", "FR-141186101", "--name", "Médiathèque Condé", "--commune", "Condé", "--json")
    assert r.exit_code == 0, r.output
    assert r.json()["name"] == "Médiathèque Condé" and r.json()["commune"] == "Condé"
    before = broker_cli("libraries", "list", "--json").json()
    for args, message in ((["--set", "colour=red"], "colour"), (["--name", ""], "name"),
                          (["--partner", "nobody"], "partner"), (["--name", "X", "--contact-email", "pas-un-mail"],
                                                                 "email")):
        r = broker_cli("libraries", "edit", "FR-141186101", *args)
        assert r.exit_code == 2 and message in r.output, (args, r.output)
    assert broker_cli("libraries", "list", "--json").json() == before
