"""``broker suppliers add-oidc``: registration, validation, the secret shown once and stored hashed."""

from __future__ import annotations

import json
import os

from sqlalchemy import create_engine, text


def _network(broker_cli):
    assert broker_cli("networks", "add", "calvados", "--name", "Calvados").exit_code == 0


def test_add_oidc_prints_the_credentials_once(broker_cli, tmp_path):
    _network(broker_cli)
    result = broker_cli("suppliers", "add-oidc", "cafeyn", "--redirect-uri", "https://cafeyn.example.org/cb",
                        "--redirect-uri", "https://cafeyn.example.org/cb2", "--network", "calvados",
                        "--post-logout-redirect-uri", "https://cafeyn.example.org/bye", "--refresh-tokens",
                        "--release", "library,network", "--json")
    assert result.exit_code == 0, result.output
    data = result.json()
    assert data["client_id"].startswith("cafeyn.") and len(data["client_secret"]) >= 40
    assert data["redirect_uris"] == ["https://cafeyn.example.org/cb", "https://cafeyn.example.org/cb2"]
    listed = broker_cli("suppliers", "list", "--json").json()
    row = next(r for r in listed if r["slug"] == "cafeyn")
    assert row["protocol"] == "oidc" and row["client_id"] == data["client_id"]
    # the secret itself is stored nowhere
    engine = create_engine(os.environ["BROKER_DATABASE_URL"])
    with engine.connect() as conn:
        config = conn.execute(text("SELECT config FROM suppliers WHERE slug='cafeyn'")).scalar_one()
    engine.dispose()
    assert data["client_secret"] not in json.dumps(config)
    assert json.loads(config)["oidc"]["secret_hash"]


def test_public_client_has_no_secret(broker_cli):
    _network(broker_cli)
    result = broker_cli("suppliers", "add-oidc", "app", "--redirect-uri", "org.example.app:/cb",
                        "--network", "calvados", "--public")
    assert result.exit_code == 0, result.output
    assert "client_secret: (none: public client)" in result.stdout


def test_add_oidc_to_a_supplier_registered_without_protocol(broker_cli):
    _network(broker_cli)
    assert broker_cli("suppliers", "add", "pnb", "--name", "PNB", "--network", "calvados").exit_code == 0
    result = broker_cli("suppliers", "add-oidc", "pnb", "--redirect-uri", "https://pnb.example.org/cb", "--json")
    assert result.exit_code == 0, result.output
    again = broker_cli("suppliers", "add-oidc", "pnb", "--redirect-uri", "https://pnb.example.org/cb")
    assert again.exit_code == 2 and "already uses oidc" in again.stderr


def test_bad_registrations_are_refused_precisely(broker_cli, tmp_path):
    _network(broker_cli)
    cases = [
        (["--redirect-uri", "http://cafeyn.example.org/cb"], "https://"),
        (["--redirect-uri", "https://cafeyn.example.org/cb#frag"], "fragment"),
        (["--redirect-uri", "javascript:alert(1)"], "https://"),
        (["--redirect-uri", "https://x.example.org/cb", "--post-logout-redirect-uri", "ftp://x"], "post-logout"),
        (["--redirect-uri", "https://x.example.org/cb", "--release", "card"], "release"),
    ]
    for args, expected in cases:
        result = broker_cli("suppliers", "add-oidc", "bad", "--network", "calvados", *args)
        assert result.exit_code == 2, (args, result.output)
        assert expected in result.stderr, (args, result.stderr)
    missing = broker_cli("suppliers", "add-oidc", "new-one", "--redirect-uri", "https://x.example.org/cb")
    assert missing.exit_code == 2 and "network" in missing.stderr
    jwks = tmp_path / "jwks.json"
    jwks.write_text('{"keys": [{"kty": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"}]}')
    result = broker_cli("suppliers", "add-oidc", "bad", "--network", "calvados",
                        "--redirect-uri", "https://x.example.org/cb", "--jwks", str(jwks))
    assert result.exit_code == 2 and "jwks" in result.stderr


def test_backchannel_logout_uri_is_checked(broker_cli):
    assert broker_cli("networks", "add", "calvados", "--name", "Calvados").exit_code == 0
    for uri in ("http://rp.example.org/bc", "not a url", "https://rp.example.org/bc#frag"):
        result = broker_cli("suppliers", "add-oidc", "bc-bad", "--network", "calvados", "--redirect-uri",
                            "https://rp.example.org/cb", "--backchannel-logout-uri", uri)
        assert result.exit_code == 2 and "back-channel logout URI" in result.stderr, (uri, result.output)
    good = broker_cli("suppliers", "add-oidc", "bc-good", "--network", "calvados", "--redirect-uri",
                      "https://rp.example.org/cb", "--backchannel-logout-uri", "https://rp.example.org/bc")
    assert good.exit_code == 0, good.output
