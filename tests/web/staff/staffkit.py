"""Shared by the staff page and API tests: a demo database built once, staff accounts, login helpers."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pyotp

SECRET = "staff-tests-secret-key-with-enough-entropy-0042"
REFERENT = ("referent@bayeux.example.org", "demo-referent-2026")      # FR-140476101, SIP2
ADMIN = ("admin@calvados.example.org", "demo-admin-2026!")            # network calvados
VIRE = ("referent@vire.example.org", "vire-referent-2026")            # FR-147626101, local connector
CAEN_ADMIN = ("admin@caenlamer.example.org", "caen-admin-2026!")      # network caen-la-mer
BAYEUX, VIRE_LIB, IFS = "FR-140476101", "FR-147626101", "FR-142716101"


def build_template(path: Path, sip2_port: int) -> None:
    """The demo network plus a Vire referent, a Caen la mer admin and one pending registration at Vire."""
    from broker.app import create_app
    from broker.db.migrate import upgrade
    from broker.demo import load_demo
    from broker.services import libraries, memberships, staff

    app = create_app({"secret_key": SECRET, "stats_flush_ms": 0, "database_url": f"sqlite:///{path}", "instance_path": str(path.parent),
                      "base_url": "http://localhost", "log_level": "WARNING"})
    runtime = app.extensions["broker"]
    try:
        upgrade(runtime.db.engine)
        with runtime.db.session() as s:
            load_demo(runtime, s, sip2_port=sip2_port)
            staff.add_staff(runtime, s, VIRE[0], "referent", VIRE_LIB, password=VIRE[1], actor="test")
            staff.add_staff(runtime, s, CAEN_ADMIN[0], "admin", "caen-la-mer", password=CAEN_ADMIN[1], actor="test")
            lib = libraries.get_library(s, VIRE_LIB)
            record = runtime.sigb.lookup(libraries.connection(lib), "V0002")
            memberships.register(runtime, s, lib, "V0002", record, email="thomas.garnier@example.org")
    finally:
        runtime.close()


def shared_template(tmp_path_factory) -> Path:
    """The template built once per test run, shared by the xdist workers (file lock) and the test folders."""
    import fcntl
    import os

    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    path = root / "staff-template.db"
    with open(root / "staff-template.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not path.exists():
                building = root / f"staff-template-{os.getpid()}.db"
                build_template(building, sip2_port=1)
                building.rename(path)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return path


def app_from_template(make_app, template: Path, tmp_path: Path, *, sip2_port: int | None = None, **settings):
    """A fresh app on a copy of the template; its SIP2 libraries talk to the emulator on ``sip2_port``."""
    target = tmp_path / f"staff-{time.monotonic_ns()}.db"
    shutil.copy(template, target)
    app = make_app(secret_key=SECRET, database_url=f"sqlite:///{target}", log_level="WARNING", **settings)
    if sip2_port is not None:
        from sqlalchemy import select

        from broker.db.models import Library

        with app.extensions["broker"].db.session() as s:
            for lib in s.scalars(select(Library).where(Library.connector == "sip2")):
                lib.connector_settings = {**lib.connector_settings, "port": sip2_port}
    return app


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf(client, path: str = "/staff/login") -> str:
    """A CSRF token for this client's session, read from a page as a browser would."""
    html = client.get(path).get_data(as_text=True)
    match = _CSRF.search(html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def post(client, path: str, data: dict | None = None, *, page: str = "/staff/", **kw):
    """POST a staff form with the CSRF token taken from ``page``."""
    body = dict(data or {})
    body["csrf_token"] = csrf(client, page)
    return client.post(path, data=body, **kw)


def login(client, account: tuple[str, str]):
    token = csrf(client, "/staff/login")
    return client.post("/staff/login", data={"email": account[0], "password": account[1], "csrf_token": token})


def secret_from(html: str) -> str:
    match = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', html)
    assert match, "no TOTP secret shown"
    return match.group(1).replace(" ", "")


def code(secret: str, step: int = 0, clock=None) -> str:
    """The TOTP code ``step`` periods from now (the server accepts one step either side, each once).

    ``clock``: the app's clock when the test gave it one (a test that uses the codes either side of "now"
    gives the app a clock standing still, so that "now" cannot move to the next step half-way).
    """
    return pyotp.TOTP(secret).at((clock.wall() if clock is not None else time.time()) + 30 * step)


def login_admin(client, account: tuple[str, str] = ADMIN, clock=None) -> str:
    """Log a network admin in through the first-login TOTP enrolment; return the TOTP secret."""
    r = login(client, account)
    assert r.status_code == 303 and r.headers["Location"].endswith("/staff/login/enrol"), r.status_code
    page = client.get("/staff/login/enrol").get_data(as_text=True)
    secret = secret_from(page)
    token = _CSRF.search(page).group(1)
    r = client.post("/staff/login/enrol", data={"code": code(secret, clock=clock), "csrf_token": token})
    assert r.status_code == 303, r.get_data(as_text=True)
    return secret


def membership_id(app, library: str, card: str) -> int:
    from broker.services import memberships

    runtime = app.extensions["broker"]
    with runtime.db.session() as s:
        return memberships.find_membership(runtime, s, library, card).id


def audit_rows(app, **where) -> list:
    from sqlalchemy import select

    from broker.db.models import AuditEvent

    runtime = app.extensions["broker"]
    with runtime.db.session() as s:
        query = select(AuditEvent).order_by(AuditEvent.id)
        for key, value in where.items():
            query = query.where(getattr(AuditEvent, key) == value)
        return [(e.actor, e.action, e.target, e.outcome, dict(e.detail or {})) for e in s.scalars(query)]


def add_pending(app, card: str, name: str, email: str | None = None, library: str = VIRE_LIB,
                birth: str = "1990-01-01") -> int:
    """A registration waiting in ``library``'s queue, as the portal would create it after the SIGB check."""
    from datetime import date

    from broker.domain.patrons import PatronRecord
    from broker.services import libraries, memberships

    runtime = app.extensions["broker"]
    with runtime.db.session() as s:
        lib = libraries.get_library(s, library)
        record = PatronRecord(card=card, name=name, email=email, birth_date=date.fromisoformat(birth),
                              expires=date(2031, 12, 31))
        return memberships.register(runtime, s, lib, card, record, email=email).id


def state_of(app, mid: int) -> str:
    from broker.db.models import Membership

    runtime = app.extensions["broker"]
    with runtime.db.session() as s:
        return s.get(Membership, mid).state


def as_staff(app, client, account: tuple[str, str]):
    """Open a staff session directly (the login itself is tested in test_login; argon2 is slow on purpose)."""
    from broker.services import staff

    runtime = app.extensions["broker"]
    with runtime.db.session() as s:
        user = staff.get_user(s, account[0])
        data = {"id": user.id, "email": user.email, "at": runtime.clock.wall()}
    with client.session_transaction() as sess:
        sess["staff"] = data
    return client
