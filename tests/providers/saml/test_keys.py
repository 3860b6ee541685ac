"""broker.keys: shared keys, first-use creation agreed by every process, rollover, cached parsing."""

from __future__ import annotations

import base64
import hashlib
import json
import multiprocessing

import pytest
from sqlalchemy import event

from broker.errors import Conflict, InvalidInput, NotFound


def _first_key(db_url: str, secret: str, redis_url: str, queue) -> None:
    from broker.config import load_settings
    from broker.runtime import Runtime

    runtime = Runtime(load_settings({"secret_key": secret, "database_url": db_url, "redis_url": redis_url,
                                     "log_level": "WARNING"}, environ={}))
    queue.put(runtime.key_store.current("oidc-es256").kid)
    runtime.close()


@pytest.mark.parametrize("state", ["sql", "redis"])
def test_first_key_is_created_once_across_processes(app, state, request):
    runtime = app.extensions["broker"]
    redis_url = request.getfixturevalue("redis_url") if state == "redis" else ""
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_first_key, args=(runtime.settings.effective_database_url,
                                                  runtime.settings.secret_key, redis_url, queue)) for _ in range(4)]
    for p in procs:
        p.start()
    kids = {queue.get(timeout=30) for _ in procs}
    for p in procs:
        p.join(10)
    assert len(kids) == 1
    rows = [r for r in runtime.key_store.describe() if r["purpose"] == "oidc-es256"]
    assert len(rows) == 1 and rows[0]["status"] == "current"


def test_keys_are_parsed_once_and_not_read_per_signature(app):
    runtime = app.extensions["broker"]
    keys = runtime.key_store
    keys.check_interval = 60
    keys.current("oidc-rs256")
    statements = []
    event.listen(runtime.db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    for _ in range(200):
        assert keys.current("oidc-rs256").private_key is not None
    assert statements == []


@pytest.mark.parametrize("purpose,kty,alg,use", [("saml-signing", "RSA", "RS256", "sig"),
                                                 ("saml-encryption", "RSA", "RSA-OAEP", "enc"),
                                                 ("oidc-rs256", "RSA", "RS256", "sig"),
                                                 ("oidc-es256", "EC", "ES256", "sig")])
def test_public_jwk_and_kid(app, purpose, kty, alg, use):
    km = app.extensions["broker"].key_store.current(purpose)
    jwk = km.public_jwk
    assert (jwk["kty"], jwk["alg"], jwk["use"], jwk["kid"]) == (kty, alg, use, km.kid)
    required = {k: jwk[k] for k in (("e", "kty", "n") if kty == "RSA" else ("crv", "kty", "x", "y"))}
    thumbprint = base64.urlsafe_b64encode(hashlib.sha256(
        json.dumps(required, separators=(",", ":"), sort_keys=True).encode()).digest()).rstrip(b"=").decode()
    assert km.kid == thumbprint  # RFC 7638
    assert bool(km.certificate_pem) == purpose.startswith("saml")
    if purpose == "saml-signing":
        assert km.private_key.key_size == 2048
    if purpose == "oidc-rs256":
        assert km.private_key.key_size == 2048


def test_two_step_rollover_and_retirement(app):
    keys = app.extensions["broker"].key_store
    first = keys.current("oidc-es256")
    (waiting,) = keys.rotate("oidc-es256")
    assert waiting.status == "next"
    assert keys.current("oidc-es256").kid == first.kid
    assert [k.status for k in keys.published("oidc-es256")] == ["current", "next"]
    keys.rotate("oidc-es256")
    assert keys.current("oidc-es256").kid == waiting.kid
    assert {k.kid: k.status for k in keys.published("oidc-es256")} == {waiting.kid: "current", first.kid: "previous"}
    with pytest.raises(Conflict):
        keys.retire(waiting.kid)
    assert keys.retire("oidc-es256") == [first.kid]
    assert [k.kid for k in keys.published("oidc-es256")] == [waiting.kid]
    with pytest.raises(Conflict):
        keys.retire(first.kid)
    with pytest.raises(NotFound):
        keys.retire("no-such-kid")
    with pytest.raises(InvalidInput):
        keys.current("rsa-1024")


def test_rotate_without_purpose_steps_every_purpose_in_use(app):
    keys = app.extensions["broker"].key_store
    keys.current("oidc-es256")
    keys.current("oidc-rs256")
    assert sorted(k.purpose for k in keys.rotate()) == ["oidc-es256", "oidc-rs256"]


def test_signing_key_from_files(make_app, tmp_path):
    from broker.keys import generate

    _key, pem, cert, _jwk = generate("saml-signing")
    (tmp_path / "idp.key").write_text(pem)
    (tmp_path / "idp.crt").write_text(cert)
    app = make_app(keys_signing_key_file=str(tmp_path / "idp.key"), keys_signing_cert_file=str(tmp_path / "idp.crt"))
    keys = app.extensions["broker"].key_store
    assert keys.current("saml-signing").certificate_pem == cert
    assert len(keys.published("saml-signing")) == 1
    from broker.errors import OperationFailed

    with pytest.raises(OperationFailed):
        keys.rotate("saml-signing")


def test_cli_errors_are_precise(broker_cli):
    result = broker_cli("keys", "retire", "nope")
    assert result.exit_code == 2 and "no key with kid or purpose 'nope'" in result.stderr
    result = broker_cli("keys", "rotate", "--purpose", "oidc-es256", "--json")
    assert result.exit_code == 0 and result.json()[0]["status"] == "current"  # nothing yet: the first key
    listed = broker_cli("keys", "list")
    assert listed.exit_code == 0 and "oidc-es256" in listed.stdout
