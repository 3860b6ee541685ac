"""The records kept in sessions and the state store, and their stored form.

Each record writes a small JSON object (``to_wire``) and reads it back
(``from_wire``). What these tests hold a record to:

- any record survives the trip through JSON as the stores write it, unchanged;
- a value stored by an earlier version reads as the record it held, so the
  sessions, pending requests, tokens and tickets of a running network stay
  good across an upgrade; the stored form written now is pinned byte for byte
  (the session's parts are shorter than they were: defaults left out, short keys);
- a damaged or foreign stored value reads as None (no session, an expired
  request, an unknown token), whatever its shape: never an exception.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broker.domain.memberships import MembershipState
from broker.domain.patrons import CardProblem
from broker.providers.cas.tickets import Ticket
from broker.providers.oidc.token_entries import CodeEntry, TokenEntry, UsedRefresh
from broker.providers.saml import session_entries
from broker.providers.saml.logout_rounds import LogoutOrigin, LogoutRound, LogoutStop
from broker.providers.saml.pending_requests import CarriedSession, PendingRequest
from broker.providers.saml.session_entries import SessionEntry
from broker.services.patron_snapshot import PatronSnapshot
from broker.web.patron_session import LoggedPatron


def stored(value):
    """What a state store gives back for ``value`` (both backends write compact JSON)."""
    return json.loads(json.dumps(value, separators=(",", ":")))


def compact(value) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# -- strategies ------------------------------------------------------------------------------
text = st.text(max_size=20)
ids = st.integers(min_value=0, max_value=2**53)
times = st.floats(min_value=0, max_value=4e9, allow_nan=False, allow_infinity=False)
opt_text = st.none() | text
claims = st.dictionaries(text, st.none() | st.booleans() | ids | text | st.lists(text, max_size=3), max_size=4)

snapshots = st.builds(
    PatronSnapshot, patron_id=ids, library_id=ids,
    membership=st.none() | st.sampled_from([m.value for m in MembershipState]),
    card_problem=st.none() | st.sampled_from([p.value for p in CardProblem]),
    card_expires=st.none() | st.dates(min_value=date(1900, 1, 1), max_value=date(9999, 12, 31)),
    birth_year=st.none() | st.integers(min_value=1900, max_value=2100), erased=st.booleans(),
    stamps=st.tuples(times, times), read_at=times, person=st.none() | ids)
logged_patrons = st.builds(LoggedPatron, uid=text.filter(bool), library=text, network=text, at=times,
                           facts=st.none() | snapshots)
entries = st.builds(SessionEntry, name_id=text, name_format=text, session_index=opt_text, supplier_id=ids)
entry_maps = st.dictionaries(text, entries, max_size=3)
pending_requests = st.builds(
    PendingRequest, supplier_id=ids, entity_id=text, request_id=opt_text, acs_url=text, relay_state=opt_text,
    force_authn=st.booleans(), passive=st.booleans(), nameid_format=opt_text, at=times,
    carried=st.none() | st.builds(CarriedSession, uid=text, entries=entry_maps))
logout_rounds = st.builds(
    LogoutRound, queue=st.lists(st.builds(LogoutStop, entity_id=text, entry=entries), max_size=3).map(tuple),
    origin=st.none() | st.builds(LogoutOrigin, entity_id=text, request_id=text, relay_state=opt_text),
    final=opt_text, partial=st.booleans(), waiting=opt_text)
code_entries = st.builds(
    CodeEntry, client_id=text, uid=text, redirect_uri=opt_text, scope=text, auth_time=ids, claims=claims,
    sid=text, nonce=st.none() | text.filter(bool),
    code_challenge=st.none() | text.filter(bool)).map(
        lambda e: e if e.code_challenge is None else replace(e, code_challenge_method="S256"))
token_entries = st.one_of(
    st.builds(TokenEntry, client_id=text, uid=text, scope=text, grant=text, auth_time=ids, issued_at=ids,
              expires_at=ids, claims=claims),
    st.builds(TokenEntry, client_id=text, uid=text, scope=text, grant=text, auth_time=ids, issued_at=ids,
              expires_at=ids, sub=text))
tickets = st.builds(Ticket, service=text, user=text, attributes=st.dictionaries(text, st.lists(text, max_size=3),
                                                                                 max_size=3),
                    new_login=st.booleans(), auth_time=ids)


RECORDS = {
    "patron snapshot": (PatronSnapshot, snapshots),
    "logged patron": (LoggedPatron, logged_patrons),
    "SAML session entry": (SessionEntry, entries),
    "SAML pending request": (PendingRequest, pending_requests),
    "SAML logout round": (LogoutRound, logout_rounds),
    "OIDC code": (CodeEntry, code_entries),
    "OIDC token": (TokenEntry, token_entries),
    "OIDC used refresh token": (UsedRefresh, st.builds(UsedRefresh, grant=text)),
    "CAS ticket": (Ticket, tickets),
}


# -- 1. every record survives its stored form ----------------------------------------------------
@pytest.mark.parametrize("kind, strategy", list(RECORDS.values()), ids=list(RECORDS))
def test_a_record_reads_back_as_it_was_written(kind, strategy):
    @settings(max_examples=60, deadline=None)
    @given(strategy)
    def round_trip(record):
        assert kind.from_wire(stored(record.to_wire())) == record
        assert stored(kind.from_wire(stored(record.to_wire())).to_wire()) == stored(record.to_wire())

    round_trip()


def test_records_are_frozen_and_slotted():
    from dataclasses import FrozenInstanceError

    for kind, _strategy in RECORDS.values():
        assert "__slots__" in vars(kind), kind
    record = SessionEntry("n", "f", "s", 1)
    with pytest.raises(FrozenInstanceError):
        record.name_id = "other"  # type: ignore[misc]  # the point of the test: frozen


# -- 2. the stored form is the one earlier versions wrote ---------------------------------------
#: one stored value of each kind as Sésame wrote it before these records existed, byte for byte
EARLIER = {
    PatronSnapshot: '{"i":11,"l":3,"m":"active","p":null,"e":"2030-12-31","b":1987,"x":false,'
                    '"v":1765000000.5,"s":[1765000000.5,1764000000.25],"r":1765000100.75,"k":null}',
    SessionEntry: '{"n":"_3f2a","f":"urn:oasis:names:tc:SAML:2.0:nameid-format:transient","s":"_9b1c","id":4}',
    PendingRequest: '{"sp":4,"entity":"https://sp.example.org/shibboleth","id":"_a1","acs":'
                    '"https://sp.example.org/acs","relay":"ss:mem:1","force":true,"passive":false,"fmt":null,'
                    '"at":1765000000.125,"keep":{"uid":"u-1","saml":{"https://other.example.org":'
                    '{"n":"p-1","f":"urn:oasis:names:tc:SAML:2.0:nameid-format:persistent","s":"_77","id":5}}}}',
    LogoutRound: '{"queue":[{"entity":"https://sp.example.org","n":"p-1","f":"urn:oasis:names:tc:SAML:2.0:'
                 'nameid-format:persistent","s":"_77","id":5}],"origin":{"entity":"https://a.example.org",'
                 '"id":"_r1","relay":null},"final":null,"partial":false,"waiting":"_w1"}',
    CodeEntry: '{"c":"client-1","u":"u-1","r":"https://rp.example.org/cb","s":"openid profile","t":1765000000,'
               '"cl":{"sub":"s-1","library":"FR-1"},"sid":"sid-1","n":"nonce-1","cc":"abc","cm":"S256"}',
    TokenEntry: '{"c":"client-1","u":"u-1","s":"openid","g":"g-1","t":1765000000,"i":1765000010,"e":1765003610,'
                '"cl":{"sub":"s-1"}}',
    UsedRefresh: '{"g":"g-1"}',
    Ticket: '{"s":"https://journal.example.org/login","u":"p-1","a":{"library":["FR-1"]},"n":true,"t":1765000000}',
}
EARLIER_REFRESH = '{"c":"client-1","u":"u-1","s":"openid","g":"g-1","t":1765000000,"i":1765000010,' \
                  '"e":1767592010,"sub":"s-1"}'
EARLIER_SESSION = '{"uid":"u-1","library":"FR-1","network":"calvados","at":1765000000.5,"f":' + \
                  EARLIER[PatronSnapshot] + '}'
#: what is written now for the same values where it differs: the null fields, a false "x" and "v" (= max(s))
#: left out of the snapshot, the stamps in microseconds from the read time, the expiry in days since
#: 1970-01-01, the persistent NameID format implied, short keys for the logged-in patron (whose snapshot's
#: read time is written in milliseconds from the login time)
CURRENT_SNAPSHOT = '{"i":11,"l":3,"s":[-100250000,-1000100500000],"r":1765000100.75,"m":"active","b":1987,' \
                   '"e":22279}'
CURRENT = {
    PatronSnapshot: CURRENT_SNAPSHOT,
    PendingRequest: EARLIER[PendingRequest].replace('"f":"urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",', ""),
    LogoutRound: EARLIER[LogoutRound].replace('"f":"urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",', ""),
    LoggedPatron: '{"u":"u-1","l":"FR-1","n":"calvados","t":1765000000.5,"f":'
                  + CURRENT_SNAPSHOT.replace('"r":1765000100.75', '"d":100250') + '}',
}


@pytest.mark.parametrize("kind, written", [*EARLIER.items(), (TokenEntry, EARLIER_REFRESH),
                                           (LoggedPatron, EARLIER_SESSION)],
                         ids=[k.__name__ for k in EARLIER] + ["RefreshToken", "LoggedPatron"])
def test_a_value_stored_by_an_earlier_version_is_read_and_written_again_byte_for_byte(kind, written):
    record = kind.from_wire(json.loads(written))
    assert record is not None
    now = CURRENT.get(kind, written)
    assert compact(record.to_wire()) == now
    assert kind.from_wire(json.loads(now)) == record  # the shorter form holds the same record


def test_the_shorter_session_forms_are_shorter():
    for kind, now in CURRENT.items():
        assert len(now) < len(EARLIER.get(kind, EARLIER_SESSION)), kind


def test_stored_values_read_as_the_fields_they_held():
    snap = PatronSnapshot.from_wire(json.loads(EARLIER[PatronSnapshot]))
    assert (snap.patron_id, snap.library_id, snap.membership, snap.card_expires, snap.version, snap.read_at) == \
        (11, 3, "active", date(2030, 12, 31), 1765000000.5, 1765000100.75)
    pending = PendingRequest.from_wire(json.loads(EARLIER[PendingRequest]))
    assert pending.force_authn and not pending.passive and pending.relay_state == "ss:mem:1"
    assert pending.carried.entries["https://other.example.org"].name_id == "p-1"
    round_ = LogoutRound.from_wire(json.loads(EARLIER[LogoutRound]))
    assert round_.queue[0].entry.supplier_id == 5 and round_.origin.request_id == "_r1"
    refresh = TokenEntry.from_wire(json.loads(EARLIER_REFRESH))
    assert refresh.subject == "s-1" and refresh.claims is None
    code = CodeEntry.from_wire(json.loads(EARLIER[CodeEntry]))
    assert code.code_challenge_method == "S256" and code.nonce == "nonce-1"


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=4 * 10**15), st.integers(min_value=0, max_value=4 * 10**15),
       st.integers(min_value=0, max_value=4 * 10**12), st.integers(min_value=-10**6, max_value=10**6))
def test_row_stamps_and_read_times_come_back_to_the_bit(stamp0_us, stamp1_us, read_ms, login_offset_ms):
    """Stamps to the microsecond and read times to the millisecond are written as integers, read back exact."""
    snap = PatronSnapshot(patron_id=1, library_id=2, membership="active", card_problem=None, card_expires=None,
                          birth_year=None, erased=False, stamps=(stamp0_us / 10**6, stamp1_us / 10**6),
                          read_at=read_ms / 1000)
    wire = stored(snap.to_wire())
    assert all(type(v) is int for v in wire["s"])
    assert PatronSnapshot.from_wire(wire) == snap
    login_at = (read_ms + login_offset_ms) / 1000
    if login_at >= 0:
        logged = LoggedPatron("u", "L", "n", login_at, snap)
        wire = stored(logged.to_wire())
        assert "r" not in wire["f"] and wire["f"]["d"] == -login_offset_ms
        assert LoggedPatron.from_wire(wire) == logged


def test_a_snapshot_read_time_from_a_login_time_needs_the_login_time():
    wire = json.loads(CURRENT[LoggedPatron])["f"]
    assert PatronSnapshot.from_wire(wire) is None
    assert PatronSnapshot.from_wire(wire, 1765000000.5) == PatronSnapshot.from_wire(json.loads(CURRENT_SNAPSHOT))


def test_optional_parts_left_out_of_an_earlier_code_read_as_absent():
    code = CodeEntry.from_wire({"c": "c", "u": "u", "r": "https://rp/cb", "s": "openid", "t": 1, "cl": {}})
    assert code is not None and (code.sid, code.nonce, code.code_challenge) == ("", None, None)
    assert compact(code.to_wire()) == '{"c":"c","u":"u","r":"https://rp/cb","s":"openid","t":1,"cl":{}}'


# -- 3. damaged or foreign values read as nothing ----------------------------------------------
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=6),
    max_leaves=20)


def _damaged(good: dict):
    """``good`` with one field removed, or set to a value of any shape."""
    return st.sampled_from(sorted(good)).flatmap(lambda key: st.one_of(
        st.just({k: v for k, v in good.items() if k != key}),
        json_values.map(lambda v: {**good, key: v})))


@pytest.mark.parametrize("kind", [*EARLIER, LoggedPatron], ids=lambda k: k.__name__)
def test_a_value_of_any_shape_reads_as_nothing_or_as_a_whole_record(kind):
    written = json.loads(EARLIER.get(kind, EARLIER_SESSION))

    @settings(max_examples=150, deadline=None)
    @given(st.one_of(json_values, _damaged(written)))
    def never_raises(value):
        record = kind.from_wire(value)
        if record is not None:  # a value it accepts is one it can write back and read again
            assert kind.from_wire(stored(record.to_wire())) == record

    never_raises()


@pytest.mark.parametrize("kind, key, value", [
    (PatronSnapshot, "i", "11"), (PatronSnapshot, "m", "melted"), (PatronSnapshot, "v", 1.0),
    (PatronSnapshot, "r", math.inf), (PatronSnapshot, "e", "2030-13-45"), (PatronSnapshot, "x", "no"),
    (SessionEntry, "id", "4"), (SessionEntry, "n", None), (PendingRequest, "sp", None),
    (PendingRequest, "force", "yes"), (PendingRequest, "at", -1), (PendingRequest, "keep", {"saml": {}}),
    (LogoutRound, "queue", [{"entity": "x"}]), (LogoutRound, "origin", {"entity": "x"}),
    (LogoutRound, "partial", None), (CodeEntry, "t", "1765000000"), (CodeEntry, "cl", ["sub"]),
    (TokenEntry, "g", 1), (TokenEntry, "e", 1.5), (UsedRefresh, "g", None), (Ticket, "a", {"library": "FR-1"}),
    (Ticket, "n", 1), (Ticket, "s", ["https://journal.example.org/login"]),
])
def test_a_field_of_the_wrong_kind_makes_the_whole_value_unreadable(kind, key, value):
    written = json.loads(EARLIER[kind])
    assert kind.from_wire({**written, key: value}) is None


@pytest.mark.parametrize("value", [None, "", "garbage", 42, [], ["uid"], {}, {"uid": ""},
                                   {"uid": "u", "library": "L", "network": "n"},
                                   {"uid": "u", "library": "L", "network": "n", "at": "yesterday"},
                                   {"uid": 7, "library": "L", "network": "n", "at": 1.0}])
def test_a_damaged_patron_session_is_no_session(value):
    assert LoggedPatron.from_wire(value) is None


def test_a_damaged_snapshot_keeps_the_patron_logged_in_without_it():
    session = json.loads(EARLIER_SESSION)
    patron = LoggedPatron.from_wire({**session, "f": {"i": "eleven"}})
    assert patron is not None and patron.uid == "u-1" and patron.facts is None


def test_damaged_saml_session_entries_are_left_out_the_others_kept():
    good = json.loads(EARLIER[SessionEntry])
    read = session_entries.read({"https://a.example.org": good, "https://b.example.org": {"n": 1},
                                 "https://c.example.org": "garbage"})
    assert list(read) == ["https://a.example.org"] and read["https://a.example.org"].session_index == "_9b1c"
    assert session_entries.read("garbage") == {} and session_entries.read(None) == {}
