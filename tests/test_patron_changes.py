"""The patron snapshot kept in the session, and when it is trusted (``services.patron_changes``).

A login hands back a *snapshot* of the patron's access-decision fields; the
decisions that follow use it instead of reading the patron again, as long as
the process's change watcher knows of nothing newer. These tests drive the
demo network (real SQLite files) and show what a patron and a library rely on:

- no read of ``patrons`` while the snapshot is good;
- a change made by another process (a second app on the same SQLite file: its
  own engine, so only the periodic poll can tell the first one) is honoured at
  the first decision after ``RECHECK_SECONDS``; a change made in this process
  at once;
- old, damaged or absent snapshots mean a fresh read, never an error;
- suppliers receiving a name or an e-mail always get a fresh read;
- when the database does not answer, no decision is made from the snapshot
  past ``RECHECK_SECONDS``: the request gets a 503, never a 500;
- end to end through the portal's login and CAS.

``xfail(strict=True)`` tests pin down defects found while writing these tests:
they fail today and must start passing (then lose their mark) once fixed.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import replace
from datetime import UTC, date, datetime
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from broker.domain.memberships import Transition
from broker.services import access, login, memberships, patron_changes, suppliers
from broker.services.patron_snapshot import PatronSnapshot
from broker.web.patron_session import LoggedPatron

VIRE = "FR-147626101"  # local connector: V0001 (active membership), PIN 4321
CARD, PIN = "V0001", "4321"
NAME, EMAIL = "Sarah Fontaine", "sarah.fontaine@example.org"
#: what every snapshot writes; the null fields, and "x" when false, are left out
SNAPSHOT_KEYS = {"i", "l", "s", "r"}
SNAPSHOT_OPTIONAL_KEYS = {"m", "p", "e", "b", "x", "k"}
SERVICE = "https://journal.example.org/login"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
LONG = 3600.0  # a RECHECK_SECONDS under which no poll happens during a test


# -- helpers ----------------------------------------------------------------------------
class Statements:
    """The SQL an engine sends, to tell the decision's reads from the watcher's poll."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.seen: list[str] = []
        event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.seen.append(statement)

    def clear(self) -> None:
        self.seen.clear()

    @property
    def polls(self) -> list[str]:
        """The watcher's look for rows changed by other processes."""
        return [s for s in self.seen if "updated_at >" in s]

    @property
    def patron_reads(self) -> list[str]:
        """SELECTs on ``patrons`` other than the watcher's poll: the decision reading the patron."""
        return [s for s in self.seen if s.lstrip().upper().startswith("SELECT")
                and re.search(r"\bpatrons\b", s) and "updated_at >" not in s]

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)


def decide(runtime, uid: str, snapshot, supplier: str = "cafeyn") -> access.AccessOutcome:
    with runtime.db.session() as s:
        return access.check(runtime, s, uid, suppliers.get_supplier(s, supplier), snapshot)


def log_in(runtime) -> tuple[str, PatronSnapshot]:
    """The login use case for V0001: (uid, the snapshot the portal keeps in the session)."""
    result = login.login(runtime, VIRE, CARD, PIN, ip="192.0.2.10")
    assert result.ok, result
    return result.uid, result.facts


def read_facts(runtime) -> tuple[str, PatronSnapshot]:
    """V0001's uid and a good snapshot, read by a decision (cheaper than a login: no PIN hash to check)."""
    from broker.services import libraries, patrons

    with runtime.db.session() as s:
        uid = patrons.find(runtime, s, libraries.get_library(s, VIRE), CARD).uid
    outcome = decide(runtime, uid, None)
    assert outcome.granted
    assert_valid_snapshot(outcome.snapshot, runtime)
    return uid, outcome.snapshot


def change_membership(runtime, transition: Transition) -> None:
    with runtime.db.session() as s:
        membership = memberships.find_membership(runtime, s, VIRE, CARD)
        memberships.change(runtime, s, membership, transition, actor="test", reason="patron_changes tests")


def assert_valid_snapshot(snap, runtime) -> None:
    assert isinstance(snap, PatronSnapshot) and SNAPSHOT_KEYS <= set(snap.to_wire()) <= (
        SNAPSHOT_KEYS | SNAPSHOT_OPTIONAL_KEYS), snap
    assert PatronSnapshot.from_wire(snap.to_wire()) == snap
    assert snap.read_at <= runtime.clock.wall()  # read no later than now, by the clock the test moves


def sqlite_path(runtime) -> str:
    return runtime.db.engine.url.database


def rename_table(runtime, old: str, new: str) -> None:
    """Another client renames a table: every query naming ``old`` fails (OperationalError)."""
    connection = sqlite3.connect(sqlite_path(runtime), timeout=10)
    try:
        connection.execute(f"ALTER TABLE {old} RENAME TO {new}")
        connection.commit()
    finally:
        connection.close()


# -- fixtures ---------------------------------------------------------------------------
#: the overlap the tests run with: wide, so that no pause of a busy machine between two steps of a
#: test can carry a change out of it; time then moves past it by the clock below, not by sleeping
OVERLAP = 30.0


@pytest.fixture
def clock(movable_clock):
    """The time the watcher reads and the change stamps are written with (``demo_app``'s clock), moved by the test."""
    return movable_clock


@pytest.fixture
def rt(demo_app, clock):
    runtime = demo_app.extensions["broker"]
    runtime.patron_changes.overlap = OVERLAP
    clock.advance(OVERLAP * 1.2)  # the demo database was written just now: its changes are older than the overlap
    return runtime


@pytest.fixture
def other(demo_app, make_app):
    """Another process on the same database: its own app and engine, so ORM events never reach ``rt``."""
    url = demo_app.extensions["broker"].db.url
    runtime = make_app(database_url=url, clock=demo_app.clock, **demo_app.smtp.settings).extensions["broker"]
    runtime.patron_changes.overlap = OVERLAP
    return runtime


@pytest.fixture
def sql(rt):
    recorder = Statements(rt.db.engine)
    yield recorder
    recorder.close()


@pytest.fixture
def running(rt):
    """A process that has been deciding for a while: its watcher has looked once; no poll after that."""
    decide(rt, "nobody-logged-in", None)  # any decision starts the watcher and its first look
    rt.patron_changes.looks.interval = LONG
    return rt


@pytest.fixture
def cas_service(rt):
    from broker.providers.cas.services import register

    with rt.db.session() as s:
        register(rt, s, "journal", patterns=[r"https://journal\.example\.org/.*"], networks=["calvados"],
                 actor="test")
    return SERVICE


def portal_login(client) -> None:
    page = client.get("/login")
    token = _TOKEN.search(page.get_data(as_text=True))
    assert token, page.status_code
    answer = client.post("/login", data={"csrf_token": token.group(1), "library": VIRE, "card": CARD,
                                          "password": PIN})
    assert answer.status_code == 302, answer.get_data(as_text=True)[:300]


def cas_login(client):
    return client.get("/cas/login?" + urlencode({"service": SERVICE}))


def assert_ticket(answer) -> None:
    assert answer.status_code == 302, answer.get_data(as_text=True)[:300]
    location = answer.headers["Location"]
    assert location.startswith(SERVICE) and parse_qs(urlsplit(location).query)["ticket"][0].startswith("ST-")


def assert_refused(answer, code: str) -> None:
    html = answer.get_data(as_text=True)
    assert answer.status_code == 403 and f'data-reason="{code}"' in html, (answer.status_code, html[:300])


def session_facts(app, client) -> PatronSnapshot | None:
    """The snapshot the patron's server-side session holds (``session["patron"]["f"]``)."""
    sid = client.get_cookie("sesame").value
    patron = LoggedPatron.from_wire(app.extensions["broker"].state.get(f"sess:{sid}")["patron"])
    return patron.facts if patron is not None else None


# -- 1. the snapshot is used ------------------------------------------------------------------
def test_login_snapshot_has_the_decision_fields_and_no_personal_data(running):
    uid, facts = log_in(running)
    assert_valid_snapshot(facts, running)
    assert facts.membership == "active" and facts.erased is False and facts.card_expires == date(2030, 12, 31)
    for personal in (NAME, EMAIL, CARD, uid):
        assert personal not in repr(facts)


def test_decision_after_login_uses_the_snapshot_without_reading_the_patron(running, sql):
    uid, facts = log_in(running)
    sql.clear()
    for _ in range(3):
        outcome = decide(running, uid, facts)
        assert outcome.granted
        assert outcome.snapshot is None  # nothing to replace
        assert outcome.patron.uid == uid and outcome.patron.membership == "active"
    assert sql.patron_reads == [] and sql.polls == []


def test_decision_without_a_snapshot_reads_the_patron_and_hands_one_back(running, sql):
    uid, _ = log_in(running)
    sql.clear()
    outcome = decide(running, uid, None)
    assert outcome.granted and len(sql.patron_reads) == 1
    assert_valid_snapshot(outcome.snapshot, running)
    sql.clear()
    assert decide(running, uid, outcome.snapshot).granted and sql.patron_reads == []


def _patron_row(runtime):
    from broker.services import libraries, patrons

    with runtime.db.session() as s:
        row = patrons.find(runtime, s, libraries.get_library(s, VIRE), CARD)
        return row.display_name, row.updated_at, row.last_login_at


def _updates(sql) -> list[str]:
    return [s for s in sql.seen if s.lstrip().upper().startswith("UPDATE") and re.search(r"\bpatrons\b", s)]


def test_signing_in_again_within_the_hour_writes_nothing_so_every_snapshot_stays_good(running, sql):
    uid, first = log_in(running)
    _, stamp, last_login = _patron_row(running)
    sql.clear()
    uid_again, second = log_in(running)
    assert uid_again == uid and _updates(sql) == []
    assert second.version == first.version and _patron_row(running)[1:] == (stamp, last_login)
    sql.clear()
    assert decide(running, uid, first).granted and sql.patron_reads == []  # the first session's snapshot too


def test_a_login_writes_what_the_sigb_changed_and_an_hour_old_last_login(running, sql):
    from broker.services import libraries, patrons

    log_in(running)
    with running.db.session() as s:  # the SIGB's name differs from the stored one; last login two hours ago
        row = patrons.find(running, s, libraries.get_library(s, VIRE), CARD)
        row.display_name, row.last_login_at = "Ancien nom", datetime(2020, 1, 1, tzinfo=UTC)
    _, stamp, _ = _patron_row(running)
    sql.clear()
    _, facts = log_in(running)
    name, new_stamp, last_login = _patron_row(running)
    assert len(_updates(sql)) == 1 and name == NAME
    assert new_stamp > stamp and facts.version == pytest.approx(new_stamp.replace(tzinfo=UTC).timestamp()
                                                            if new_stamp.tzinfo is None else new_stamp.timestamp())
    assert (last_login if last_login.tzinfo else last_login.replace(tzinfo=UTC)).year > 2020


# -- 2. a change made by another process: seen by the poll -----------------------------------------
def test_suspension_by_another_process_is_refused_after_the_recheck_then_reactivation(running, other, sql,
                                                                                      monkeypatch, clock):
    uid, facts = log_in(running)
    assert decide(running, uid, facts).granted
    change_membership(other, Transition.SUSPEND)

    # within RECHECK_SECONDS of the last look this process cannot know: the snapshot still decides
    sql.clear()
    assert decide(running, uid, facts).granted and sql.patron_reads == []

    running.patron_changes.looks.interval = 0
    sql.clear()
    refused = decide(running, uid, facts)
    assert len(sql.polls) == 1 and len(sql.patron_reads) == 1
    assert not refused.granted and refused.decision.refusal.code == "membership_suspended"
    assert_valid_snapshot(refused.snapshot, running)
    assert refused.snapshot.membership == "suspended" and refused.snapshot.version > facts.version

    # the new snapshot is good: refused again with no read of the patron
    sql.clear()
    again = decide(running, uid, refused.snapshot)
    assert again.decision.refusal.code == "membership_suspended"
    assert again.snapshot is None and sql.patron_reads == []
    # the old snapshot is still known to be stale
    outcome = decide(running, uid, facts)
    assert not outcome.granted, "decided from the stale snapshot"
    assert outcome.decision.refusal.code == "membership_suspended"

    change_membership(other, Transition.REACTIVATE)
    sql.clear()
    back = decide(running, uid, refused.snapshot)
    assert back.granted and len(sql.patron_reads) == 1
    assert back.snapshot.membership == "active" and back.snapshot.version > refused.snapshot.version
    # two changes less than OVERLAP_SECONDS apart: the earlier one might have committed after any read
    # made in between, so the patron is read again until that much time has passed, then no more
    clock.advance(OVERLAP * 1.2)
    settled = decide(running, uid, back.snapshot)
    assert settled.granted and settled.snapshot is not None
    sql.clear()
    assert decide(running, uid, settled.snapshot).granted and sql.patron_reads == []


def test_card_reported_lost_by_another_process_is_seen_after_the_recheck(running, other, monkeypatch):
    from sqlalchemy import select

    from broker.db.models import Patron

    uid, facts = read_facts(running)
    with other.db.session() as s:
        s.scalar(select(Patron).where(Patron.uid == uid)).card_problem = "lost"
    running.patron_changes.looks.interval = 0
    outcome = decide(running, uid, facts)
    assert outcome.decision.refusal.code == "card_invalid"
    assert outcome.snapshot.card_problem == "lost"


# -- 3. a change made in this process: seen at once --------------------------------------------
def test_suspension_in_this_process_is_seen_at_once(running, sql):
    uid, facts = log_in(running)
    assert decide(running, uid, facts).granted
    change_membership(running, Transition.SUSPEND)
    sql.clear()
    refused = decide(running, uid, facts)
    assert sql.polls == []  # RECHECK_SECONDS is an hour: the commit itself told the watcher
    assert refused.decision.refusal.code == "membership_suspended"
    assert refused.snapshot.membership == "suspended"

    change_membership(running, Transition.REACTIVATE)
    back = decide(running, uid, refused.snapshot)
    assert back.granted and back.snapshot.membership == "active"
    assert sql.polls == []


def test_card_reported_lost_in_this_process_is_seen_at_once(running, sql):
    from sqlalchemy import select

    from broker.db.models import Patron

    uid, facts = read_facts(running)
    with running.db.session() as s:
        s.scalar(select(Patron).where(Patron.uid == uid)).card_problem = "lost"
    sql.clear()
    outcome = decide(running, uid, facts)
    assert sql.polls == []
    assert outcome.decision.refusal.code == "card_invalid" and outcome.snapshot.card_problem == "lost"


def test_rolled_back_change_in_this_process_leaves_the_snapshot_good(running, sql):
    uid, facts = read_facts(running)
    with pytest.raises(RuntimeError):
        with running.db.session() as s:
            membership = memberships.find_membership(running, s, VIRE, CARD)
            memberships.change(running, s, membership, Transition.SUSPEND, actor="test")
            raise RuntimeError("the staff request failed after the change")
    sql.clear()
    assert decide(running, uid, facts).granted and sql.patron_reads == []


def test_read_inside_an_uncommitted_change_hands_out_no_snapshot(running):
    """A snapshot read inside a transaction that changed the patron could describe a rollback."""
    uid, facts = read_facts(running)
    with running.db.session() as s:
        membership = memberships.find_membership(running, s, VIRE, CARD)
        memberships.change(running, s, membership, Transition.SUSPEND, actor="test")
        outcome = access.check(running, s, uid, suppliers.get_supplier(s, "cafeyn"), None)
        assert outcome.decision.refusal.code == "membership_suspended"
        assert outcome.snapshot is None
        s.rollback()
    assert decide(running, uid, facts).granted


# -- 4. a snapshot older than what the watcher covers ------------------------------------------
@pytest.mark.parametrize("read_at", [lambda r: r - 3600, lambda r: r - 86400 * 365, lambda r: 0.0],
                         ids=["an_hour_ago", "a_year_ago", "epoch"])
def test_snapshot_read_before_the_watcher_began_is_read_again(running, sql, read_at):
    uid, facts = read_facts(running)
    old = replace(facts, read_at=read_at(facts.read_at))
    sql.clear()
    outcome = decide(running, uid, old)
    assert outcome.granted and len(sql.patron_reads) == 1
    assert_valid_snapshot(outcome.snapshot, running)
    assert outcome.snapshot.read_at > facts.read_at
    sql.clear()
    assert decide(running, uid, outcome.snapshot).granted and sql.patron_reads == []


def test_snapshot_from_before_a_process_started_watching_is_read_again(rt, other, monkeypatch, clock):
    """A worker started (or restarted) after the login vouches only for what it has watched."""
    uid, facts = log_in(rt)
    clock.advance(OVERLAP * 1.2)  # the other process starts watching well after the login's read
    rt.patron_changes.looks.interval = other.patron_changes.looks.interval = LONG  # no look falls due mid-test
    theirs = Statements(other.db.engine)
    try:
        outcome = decide(other, uid, facts)
        assert outcome.granted and len(theirs.patron_reads) == 1
        assert_valid_snapshot(outcome.snapshot, other)
        theirs.clear()
        assert decide(other, uid, outcome.snapshot).granted and theirs.patron_reads == []
    finally:
        theirs.close()


def test_a_login_starts_the_watcher_so_its_own_snapshot_is_trusted_at_once(rt, sql, monkeypatch):
    uid, facts = log_in(rt)  # the first thing this process does
    rt.patron_changes.looks.interval = LONG
    sql.clear()
    outcome = decide(rt, uid, facts)
    assert outcome.granted and sql.patron_reads == [] and outcome.snapshot is None


# -- 5. damaged snapshots -------------------------------------------------------------------------
def _without(key):
    return lambda f: {k: v for k, v in f.items() if k != key}


def _with(**values):
    return lambda f: {**f, **values}


#: damage that is recovered from today: the patron is read again and the snapshot replaced
DAMAGED = {
    "empty": lambda f: {},
    "absent": lambda f: None,
    # the null fields and the version (max of the stamps) are left out of the stored form: what is
    # missing below is what every snapshot holds
    "only_stamps": lambda f: {"r": f["r"], "s": f["s"]},
    "no_patron_id": _without("i"),
    "no_library_id": _without("l"),
    "no_stamps": _without("s"),
    "no_read_time": _without("r"),
    "read_time_text": _with(r="yesterday"),
    "version_none": _with(v=None),
    "expiry_not_a_date": _with(e="2030-13-45"),
    "expiry_a_number": _with(e=20301231),
    "unknown_keys_only": lambda f: {"uid": "x", "facts": [1, 2]},
}


def _expect_fresh_read(runtime, sql, uid, facts, damage) -> None:
    sql.clear()
    outcome = decide(runtime, uid, PatronSnapshot.from_wire(damage(facts.to_wire())))
    assert outcome.granted, outcome.decision
    assert len(sql.patron_reads) == 1, sql.patron_reads
    assert_valid_snapshot(outcome.snapshot, runtime)  # replaced by a good one
    assert replace(outcome.snapshot, read_at=0.0) == replace(facts, read_at=0.0)


def test_damaged_snapshot_never_errors_and_the_patron_is_read_again(running, sql):
    uid, facts = read_facts(running)
    wrong = {}
    for name, damage in DAMAGED.items():
        try:
            _expect_fresh_read(running, sql, uid, facts, damage)
        except Exception as exc:  # noqa: BLE001 - collect every case, then report them all
            wrong[name] = f"{type(exc).__name__}: {exc}"
    assert wrong == {}


#: damage of every kind: never an error, never a decision from it, the patron read again
DAMAGED_MORE = {
    "not_a_dict": [lambda f: "garbage", lambda f: [1, 2, 3], lambda f: 42],
    "patron_id_unhashable": [_with(i=[])],
    "value_of_wrong_type": [_with(m=5), _with(p="melted"), _with(b="x"), _with(x="no"), _with(i="11"),
                            _with(v=float("inf")), _with(r=float("nan")), _with(s=[1.0]), _with(v=1.0)],
}


@pytest.mark.parametrize("damages", list(DAMAGED_MORE.values()), ids=list(DAMAGED_MORE))
def test_damaged_snapshot_of_any_shape_is_read_again(running, sql, damages):
    uid, facts = read_facts(running)
    for damage in damages:
        _expect_fresh_read(running, sql, uid, facts, damage)


# -- 6. suppliers receiving personal data ---------------------------------------------------------
@pytest.mark.parametrize("release", [["display_name"], ["email"], ["library", "display_name", "email"]])
def test_supplier_receiving_personal_data_gets_a_fresh_read(running, sql, release):
    from broker.services import release as release_service

    with running.db.session() as s:
        suppliers.add_supplier(running, s, "annuaire", name="Annuaire", networks=["calvados"],
                               category="presse", release=release, actor="test")
    uid, facts = log_in(running)  # the login fills the name and e-mail from the SIGB
    for _ in range(2):
        sql.clear()
        outcome = decide(running, uid, facts, supplier="annuaire")
        assert outcome.granted
        assert len(sql.patron_reads) == 1  # every time, though the snapshot is good
        assert outcome.snapshot is None  # the good snapshot is kept
        assert (outcome.patron.display_name, outcome.patron.email) == (NAME, EMAIL)
    with running.db.session() as s:
        attributes = release_service.attributes(running, outcome.patron, outcome.library,
                                                suppliers.get_supplier(s, "annuaire"))
    released = {v for values in attributes.values() for v in values}
    assert ("display_name" not in release or NAME in released) and ("email" not in release or EMAIL in released)
    # the same session for a supplier without personal data: no read
    sql.clear()
    assert decide(running, uid, facts).granted and sql.patron_reads == []


def test_snapshot_replaced_after_a_personal_read_holds_no_personal_data(running):
    with running.db.session() as s:
        suppliers.add_supplier(running, s, "annuaire", name="Annuaire", networks=["calvados"],
                               category="presse", release=["display_name", "email"], actor="test")
    uid, facts = log_in(running)  # the login fills the name and e-mail from the SIGB
    outcome = decide(running, uid, replace(facts, read_at=0.0), supplier="annuaire")  # too old: replaced
    assert outcome.granted and outcome.patron.display_name == NAME
    assert_valid_snapshot(outcome.snapshot, running)
    for personal in (NAME, EMAIL, CARD, uid):
        assert personal not in repr(outcome.snapshot)


# -- 7. the database does not answer -------------------------------------------------------
def test_without_the_database_no_decision_is_made_from_the_snapshot_after_the_recheck(running, monkeypatch, clock):
    uid, facts = read_facts(running)
    assert decide(running, uid, facts).granted
    rename_table(running, "patrons", "patrons_away")
    try:
        # within RECHECK_SECONDS of the last good look, the snapshot still decides (documented bound)
        assert decide(running, uid, facts).granted
        running.patron_changes.looks.interval = 0.2
        clock.advance(0.25)
        for _ in range(2):  # a failed look is not a look: every decision asks again
            with pytest.raises(OperationalError):
                decide(running, uid, facts)
    finally:
        rename_table(running, "patrons_away", "patrons")
    assert decide(running, uid, facts).granted  # back by itself


def test_database_gone_gives_503_on_cas_and_go_never_500(demo_app, rt, cas_service, monkeypatch):
    client = demo_app.test_client()
    portal_login(client)
    assert_ticket(cas_login(client))
    assert client.get("/go/cafeyn").status_code == 200
    rt.patron_changes.looks.interval = 0
    rename_table(rt, "patrons", "patrons_away")
    try:
        for answer in (cas_login(client), client.get("/go/cafeyn")):
            assert answer.status_code == 503, answer.get_data(as_text=True)[:300]
            assert "ticket=" not in answer.headers.get("Location", "")
    finally:
        rename_table(rt, "patrons_away", "patrons")
    assert_ticket(cas_login(client))


# -- 8. end to end: portal login, CAS, suspension by another process ---------------------------------
def test_portal_login_then_cas_then_suspension_elsewhere_then_refusal_page(demo_app, rt, other, cas_service,
                                                                        monkeypatch):
    client = demo_app.test_client()
    portal_login(client)
    facts = session_facts(demo_app, client)
    assert_valid_snapshot(facts, rt)
    assert facts.membership == "active"
    assert_ticket(cas_login(client))

    sql = Statements(rt.db.engine)
    try:
        rt.patron_changes.looks.interval = LONG
        sql.clear()
        assert_ticket(cas_login(client))
        assert sql.patron_reads == []  # the session's snapshot decided

        change_membership(other, Transition.SUSPEND)
        rt.patron_changes.looks.interval = 0
        assert_refused(cas_login(client), "membership_suspended")
        assert session_facts(demo_app, client).membership == "suspended"  # the session now holds the new state

        rt.patron_changes.looks.interval = LONG
        sql.clear()
        assert_refused(cas_login(client), "membership_suspended")
        assert_refused(client.get("/go/cafeyn"), "membership_suspended")
        assert sql.patron_reads == []  # refused from the session's new snapshot

        change_membership(other, Transition.REACTIVATE)
        rt.patron_changes.looks.interval = 0
        assert_ticket(cas_login(client))
        assert session_facts(demo_app, client).membership == "active"
    finally:
        sql.close()


# -- defects found ----------------------------------------------------------------------------
def test_change_committed_after_the_read_but_stamped_before_it_is_not_missed(running, other, monkeypatch):
    from sqlalchemy import select

    from broker.db.models import Membership, Patron

    uid, facts = log_in(running)  # the login's own update makes v = its patrons.updated_at
    stamp = datetime.fromtimestamp(facts.version - OVERLAP / 2, UTC)  # within OVERLAP_SECONDS of the read
    with other.db.session() as s:
        membership = s.scalar(select(Membership).join(Patron).where(Patron.uid == uid))
        membership.state, membership.updated_at = "suspended", stamp
    running.patron_changes.looks.interval = 0
    outcome = decide(running, uid, facts)
    assert not outcome.granted, "decided from the stale snapshot"
    assert outcome.decision.refusal.code == "membership_suspended"


# -- memory: changes are remembered for a window only ----------------------------------------------
def test_changes_older_than_the_window_are_forgotten_and_their_snapshots_read_again(rt, monkeypatch):
    watcher = patron_changes.PatronChanges(rt.db, overlap=OVERLAP, clock=rt.clock)
    clock = [rt.clock.wall()]  # the test's clock, already past the demo's own changes
    watcher.looks.interval = 0
    with rt.db.session() as s:
        watcher.revalidate(s)  # the first look: the watcher vouches from now on
    watcher.note([(1, clock[0] + 1), (2, clock[0] + 2), (2, clock[0] + 3), (2, clock[0] + 3)])
    assert watcher._stamps == {1: clock[0] + 1, 2: (clock[0] + 2, clock[0] + 3)}  # a repeat is kept once

    rt.clock.advance(patron_changes.WINDOW_SECONDS + patron_changes.PRUNE_EVERY_SECONDS + 10)
    clock[0] = rt.clock.wall()
    with rt.db.session() as s:
        watcher.revalidate(s)
    assert watcher._stamps == {}  # bounded memory: nothing older than the window is kept
    old = patron_changes.PatronView(id=1, uid="u", library_id=1, membership="active", card_problem=None,
                                  card_expires=None, birth_year=None, erased=False, stamps=(0.0, 0.0))
    assert not watcher.usable(old, clock[0] - patron_changes.WINDOW_SECONDS - 30)  # older than what it vouches for
    assert watcher.usable(old, clock[0])
