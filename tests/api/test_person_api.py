"""/api/v1/patrons/link and unlink: network admins, within their networks, audited, as documented."""

from sqlalchemy import select

from broker.db.models import AuditEvent
from fixtures.broker import SECRET
from fixtures.openapi import check_against_spec
from fixtures.staff import ADMIN, REFERENT

BAYEUX, CAMILLE, LEA = "FR-140476101", "29001000000017", "29001000000058"
CAEN, LOUIS = "FR-141186001", "29003000000015"


def call(client, token, path, body):
    return client.post(f"/api/v1/patrons/{path}", json=body, headers={"Authorization": f"Bearer {token}"})


def test_admin_links_and_unlinks(api_app, api_client, token_for, openapi):
    token = token_for(ADMIN[0])
    r = call(api_client, token, "link", {"library_a": BAYEUX, "card_a": CAMILLE, "library_b": BAYEUX, "card_b": LEA})
    assert r.status_code == 200, r.get_json()
    check_against_spec(openapi, "/patrons/link", "post", r)
    assert [c["card_last_characters"] for c in r.get_json()["cards"]] == ["0017", "0058"]
    again = call(api_client, token, "link", {"library_a": BAYEUX, "card_a": CAMILLE, "library_b": BAYEUX,
                                             "card_b": LEA})
    assert again.status_code == 409 and again.get_json()["error"] == "already"
    check_against_spec(openapi, "/patrons/link", "post", again)
    r = call(api_client, token, "unlink", {"library": BAYEUX, "card": LEA})
    assert r.status_code == 200 and r.get_json()["person"] is None
    check_against_spec(openapi, "/patrons/unlink", "post", r)
    with api_app.extensions["broker"].db.session() as s:
        actions = [(e.action, e.outcome) for e in s.scalars(select(AuditEvent).where(
            AuditEvent.action.like("person.%")).order_by(AuditEvent.id))]
        assert actions == [("person.link", "ok"), ("person.link", "refused"), ("person.unlink", "ok")]
        assert not any(CAMILLE in str(e.detail) or LEA in str(e.detail) for e in s.scalars(select(AuditEvent)))


def test_outside_the_admins_networks_and_referents_are_refused(api_client, token_for):
    body = {"library_a": BAYEUX, "card_a": CAMILLE, "library_b": CAEN, "card_b": LOUIS}
    assert call(api_client, token_for(ADMIN[0]), "link", body).status_code == 403  # Caen: another network
    assert call(api_client, token_for(REFERENT[0]), "link", body).status_code == 403


def test_bad_input(api_client, token_for, openapi):
    token = token_for(ADMIN[0])
    r = call(api_client, token, "link", {"library_a": BAYEUX, "card_a": CAMILLE, "library_b": BAYEUX,
                                         "card_b": CAMILLE})
    assert r.status_code == 409 and r.get_json()["error"] == "same_card"
    r = call(api_client, token, "link", {"library_a": BAYEUX, "card_a": CAMILLE, "library_b": BAYEUX,
                                         "card_b": "99999999"})
    assert r.status_code == 404
    check_against_spec(openapi, "/patrons/link", "post", r)
    r = call(api_client, token, "link", {"library_a": BAYEUX, "card_a": CAMILLE})
    assert r.status_code == 400 and r.get_json()["field"] == "library_b"
    r = call(api_client, token, "unlink", {"library": BAYEUX, "card": CAMILLE})
    assert r.status_code == 409 and r.get_json()["error"] == "not_linked"


def test_cli(broker_cli, staff_template, tmp_path, monkeypatch):
    import shutil

    import broker.cli.persons  # noqa: F401  (registers the command group)

    shutil.copy(staff_template, tmp_path / "p.db")
    monkeypatch.setenv("BROKER_DATABASE_URL", f"sqlite:///{tmp_path / 'p.db'}")
    monkeypatch.setenv("BROKER_SECRET_KEY", SECRET)  # the staff template's
    r = broker_cli("patrons", "link", BAYEUX, CAMILLE, CAEN, LOUIS, "--json")
    assert r.exit_code == 0, r.output
    assert [c["library"] for c in r.json()["cards"]] == [BAYEUX, CAEN]
    assert CAMILLE not in r.output and LOUIS not in r.output
    r = broker_cli("patrons", "link", BAYEUX, CAMILLE, CAEN, LOUIS)
    assert r.exit_code == 2 and "already linked" in r.stderr
    r = broker_cli("patrons", "link", "NOPE", CAMILLE, CAEN, LOUIS)
    assert r.exit_code == 2
    r = broker_cli("patrons", "unlink", CAEN, LOUIS)
    assert r.exit_code == 0 and "0015" in r.stdout
    r = broker_cli("patrons", "unlink", CAEN, LOUIS)
    assert r.exit_code == 2 and "not linked" in r.stderr
