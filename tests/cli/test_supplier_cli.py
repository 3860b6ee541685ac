"""``broker suppliers disable|enable``: patrons refused while disabled, nothing deleted, audited; unknown slug exits 2."""


def test_disable_and_enable_a_supplier(broker_cli):
    assert broker_cli("networks", "add", "calvados", "--name", "Bibliothèque du Calvados").exit_code == 0
    r = broker_cli("suppliers", "add", "cafeyn", "--name", "Cafeyn", "--network", "calvados", "--release", "library")
    assert r.exit_code == 0, r.output
    r = broker_cli("suppliers", "disable", "cafeyn", "--json")
    assert r.exit_code == 0, r.output
    assert r.json()["enabled"] is False and r.json()["release"] == "library"
    assert broker_cli("suppliers", "disable", "cafeyn", "--json").json()["enabled"] is False  # twice: no change
    r = broker_cli("suppliers", "enable", "cafeyn", "--json")
    assert r.exit_code == 0 and r.json()["enabled"] is True
    for command in ("disable", "enable"):
        r = broker_cli("suppliers", command, "nope")
        assert r.exit_code == 2 and "unknown supplier 'nope'" in r.output
    assert "disable" in broker_cli("suppliers", "--help").output


def test_each_change_is_audited_once_with_before_and_after(broker_cli, tmp_path):
    import json
    import sqlite3

    broker_cli("networks", "add", "calvados", "--name", "Calvados")
    broker_cli("suppliers", "add", "pnb", "--name", "PNB", "--network", "calvados")
    broker_cli("suppliers", "disable", "pnb")
    broker_cli("suppliers", "disable", "pnb")
    broker_cli("suppliers", "enable", "pnb")
    with sqlite3.connect(tmp_path / "cli.db") as db:
        rows = [(actor, action, json.loads(detail)) for actor, action, detail in db.execute(
            "SELECT actor, action, detail FROM audit_events WHERE target = 'pnb' ORDER BY id")]
    assert rows[1:] == [("cli", "supplier.disable", {"before": {"enabled": True}, "after": {"enabled": False}}),
                        ("cli", "supplier.enable", {"before": {"enabled": False}, "after": {"enabled": True}})]
