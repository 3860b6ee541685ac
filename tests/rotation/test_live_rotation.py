"""Rotating the instance secret under live sessions: nobody is logged out, suppliers see the same identifiers.

One demo instance, served over real HTTP three times on the same database:
with the old key alone, with ``BROKER_SECRET_KEYS="new,old"`` (then ``broker
secrets rotate``), and with the new key alone. A patron's and a librarian's
browsers keep their cookies throughout; python-cas and pyoidc are the
suppliers' independent clients.
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import shutil
import threading
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import create_engine, func, select, text
from werkzeug.serving import make_server

from broker.domain.identifiers import card_digest, pairwise_id
from fixtures.live import VIRE, Browser, Live, RelyingParty
from fixtures.live import register as register_oidc
from fixtures.servers import free_port

OLD = "test-secret-key-with-enough-entropy-0123456789"  # the demo template's key
NEW = "the-new-instance-secret-after-a-leak-9876543210"
REFERENT = ("referent@bayeux.example.org", "demo-referent-2026")
CAS_BASE = "https://cas-client.example.org/rotation"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _hkdf(secret: str, label: str) -> bytes:
    """The derivation every instance used on its secret itself before the values were stored."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"sesame-broker", info=label.encode()).derive(secret.encode())


def _fernet(secret: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(_hkdf(secret, "encryption-at-rest")))


@contextlib.contextmanager
def served(folder, database, secret_keys: str):
    """The broker on ``database`` with ``BROKER_SECRET_KEYS=secret_keys``, over HTTP on a free port."""
    from broker.app import create_app

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.startswith("BROKER_") and not name.startswith(("BROKER_TEST_", "BROKER_BENCH_")):
                mp.delenv(name)
        mp.setenv("BROKER_SECRET_KEYS", secret_keys)
        app = create_app({"stats_flush_ms": 0, "instance_path": str(folder / "instance"), "base_url": base,
                          "database_url": f"sqlite:///{database}", "log_level": "WARNING"})
    runtime = app.extensions["broker"]
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Live(app, runtime, base)
    finally:
        server.shutdown()
        thread.join(5)
        runtime.close()


def _csrf(browser: Browser, url: str) -> str:
    page = browser.get(url)
    assert page.status_code == 200, (url, page.status_code)
    return _CSRF.search(page.text).group(1)


def _staff_login(browser: Browser) -> None:
    token = _csrf(browser, browser.live.url("/staff/login"))
    answer = browser.http.post(browser.live.url("/staff/login"), allow_redirects=False, timeout=10,
                               data={"email": REFERENT[0], "password": REFERENT[1], "csrf_token": token})
    assert answer.status_code == 303, answer.text[:300]


def _logged_in(browser: Browser, live: Live) -> bool:
    """The patron's account page answers (logged out, it sends to the login page)."""
    browser.live = live
    return browser.get(live.url("/account")).status_code == 200


def _staff_in(browser: Browser, live: Live) -> bool:
    browser.live = live
    answer = browser.get(live.url("/staff/"))
    return answer.status_code == 200


def _choose_library(browser: Browser, live: Live, token: str) -> int:
    """A harmless form (choose a library), posted with ``token``: its status says whether CSRF passed."""
    answer = browser.http.post(live.url("/libraries/choose"), data={"library": VIRE, "csrf_token": token},
                               allow_redirects=False, timeout=10)
    return answer.status_code


def _cas_user(browser: Browser, live: Live) -> str:
    from cas import CASClient

    browser.live = live
    service = f"{CAS_BASE}/"
    answer = browser.follow(live.url("/cas/login?" + urlencode({"service": service})))
    assert answer.status_code == 302, answer.text[:300]
    ticket = parse_qs(urlsplit(answer.headers["Location"]).query)["ticket"][0]
    user, _, _ = CASClient(version=3, service_url=service, server_url=live.base + "/cas/").verify_ticket(ticket)
    assert user
    return user


def _oidc_sub(browser: Browser, live: Live, registration) -> str:
    browser.live = live
    rp = RelyingParty(live, registration)
    url, state = rp.authorization_url()
    answer = browser.follow(url)
    code = rp.code_from(answer)
    tokens = rp.token(state, code)  # the client secret is checked against its stored keyed hash
    return tokens["id_token"]["sub"]


def _subjects(live: Live) -> dict[str, str]:
    """What every supplier of the demo receives as V0001's identifier (SAML NameID, OIDC sub, CAS user)."""
    from broker.db.models import Patron, Supplier
    from broker.services import release

    with live.runtime.db.session() as s:
        patrons = list(s.scalars(select(Patron)))
        return {f"{sup.slug}:{p.uid}": release.subject_id(live.runtime, p, sup)
                for sup in s.scalars(select(Supplier)) for p in patrons}


def _memberships(live: Live) -> dict[str, tuple]:
    from broker.db.models import Membership, Patron

    with live.runtime.db.session() as s:
        return {p.uid: (p.card_digest, p.membership.state if p.membership else None)
                for p in s.scalars(select(Patron).join(Membership, isouter=True))}


@pytest.fixture(scope="module")
def instance(tmp_path_factory, demo_db):
    """A demo instance as it stood before its stable values were stored (keys derived from OLD itself)."""
    built = demo_db(sip2="offline")
    folder = tmp_path_factory.mktemp("rotation")
    database = folder / "broker.db"
    shutil.copy(built, database)
    engine = create_engine(f"sqlite:///{database}")
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM instance_secrets"))  # as before the upgrade that stores them
    engine.dispose()
    return folder, database


def test_rotation_keeps_sessions_csrf_and_identifiers(instance, broker_cli_at):
    from broker.db.models import CryptoKey, Library, Patron, StaffUser
    from broker.db.secret_models import InstanceSecret
    from broker.services import staff_auth

    folder, database = instance
    patron = staff = None

    # -- before: the old key alone --------------------------------------------------------
    with served(folder, database, OLD) as live:
        patron, staff = Browser(live), Browser(live)
        assert patron.login().status_code == 302
        _staff_login(staff)
        assert _logged_in(patron, live) and _staff_in(staff, live)
        patron_token = _csrf(patron, live.url("/libraries"))
        assert live.app.test_client().get("/saml/metadata").status_code == 200  # SAML keys exist
        from broker.providers.cas.services import register as register_cas

        with live.runtime.db.session() as s:
            register_cas(live.runtime, s, "rotation-cas", patterns=[rf"{re.escape(CAS_BASE)}/.*"],
                         networks=["calvados"])
            user = s.scalar(select(StaffUser).where(StaffUser.email == REFERENT[0]))
            totp = staff_auth.new_secret()
            user.totp_secret = live.runtime.keys.encrypt(totp.encode())  # a TOTP secret at rest
        oidc = register_oidc(live, "rotation-rp")
        cas_before, sub_before = _cas_user(patron, live), _oidc_sub(patron, live, oidc)
        subjects_before, members_before = _subjects(live), _memberships(live)
        with live.runtime.db.session() as s:  # the card digest is the one derived from OLD itself
            uid = s.scalar(select(Patron.uid).where(Patron.card_digest == card_digest(
                _hkdf(OLD, "card-digests"), VIRE, "V0001")))
        assert uid
    # what suppliers saw is what the instance derived from its secret before it stored the values
    assert cas_before == pairwise_id(_hkdf(OLD, "pairwise-identifiers"), uid, "rotation-cas")
    assert sub_before == pairwise_id(_hkdf(OLD, "pairwise-identifiers"), uid, "rotation-rp")

    # -- the new key first, the old one still listed -------------------------------------------
    with served(folder, database, f"{NEW},{OLD}") as live:
        assert _logged_in(patron, live), "the patron was logged out by the new key"
        assert _staff_in(staff, live), "the librarian was logged out by the new key"
        assert _choose_library(patron, live, patron_token) == 302, "a CSRF token of the old key was refused"
        forged = patron_token[:-4] + ("AAAA" if not patron_token.endswith("AAAA") else "BBBB")
        assert _choose_library(patron, live, forged) == 400
        fresh_token = _csrf(patron, live.url("/libraries"))
        assert fresh_token != patron_token and _choose_library(patron, live, fresh_token) == 302
        assert _cas_user(patron, live) == cas_before

        result = broker_cli_at(database, f"{NEW},{OLD}", "secrets", "rotate", "--json")
        assert result.exit_code == 0, result.output
        report = result.json()
        assert report["keys"] == 2 and report["unreadable"] == {}
        assert report["reencrypted"]["instance_secrets"] == 4
        assert report["reencrypted"]["crypto_keys"] >= 4 and report["reencrypted"]["staff_users"] == 1
        assert report["reencrypted"]["libraries"] >= 1

    # everything encrypted at rest now opens with the new key, and no longer with the old one
    engine = create_engine(f"sqlite:///{database}")
    with engine.connect() as conn:
        sealed = [bytes(v) for v in conn.scalars(select(CryptoKey.private_encrypted))]
        sealed += [bytes(v) for v in conn.scalars(select(InstanceSecret.sealed))]
        sealed += [bytes(v) for v in conn.scalars(select(Library.connector_secrets).where(
            Library.connector_secrets.is_not(None)))]
        sealed += [bytes(v) for v in conn.scalars(select(StaffUser.totp_secret).where(
            StaffUser.totp_secret.is_not(None)))]
    engine.dispose()
    for token in sealed:
        _fernet(NEW).decrypt(token)
        with pytest.raises(InvalidToken):
            _fernet(OLD).decrypt(token)

    # -- the old key removed entirely --------------------------------------------------------
    with served(folder, database, NEW) as live:
        assert _logged_in(patron, live) and _staff_in(staff, live), "a session ended with the old key's removal"
        assert _choose_library(patron, live, patron_token) == 400  # the old key signs nothing any more
        assert _cas_user(patron, live) == cas_before
        assert _oidc_sub(patron, live, oidc) == sub_before
        assert _subjects(live) == subjects_before
        assert live.app.test_client().get("/saml/metadata").status_code == 200  # private keys decrypt
        # a known patron logs in anew: the card digest finds them, with their membership
        again = Browser(live)
        assert again.login().status_code == 302
        assert _memberships(live) == members_before
        with live.runtime.db.session() as s:
            assert s.scalar(select(func.count()).select_from(Patron)) == len(members_before)
            user = s.scalar(select(StaffUser).where(StaffUser.email == REFERENT[0]))
            assert staff_auth.unseal(live.runtime, user.totp_secret) == totp
            for lib in s.scalars(select(Library).where(Library.connector_secrets.is_not(None))):
                assert live.runtime.keys.decrypt_json(lib.connector_secrets)
