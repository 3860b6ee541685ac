"""What the patron's server-side session holds, and a damaged one: never an error page.

The session's ``patron`` entry is the stored form of ``LoggedPatron``; a value
that is not as written (a damaged store, a foreign writer) means the patron is
not logged in. A damaged snapshot alone only means the patron is read again.
"""

from __future__ import annotations

import pytest

from broker.services.patron_snapshot import PatronSnapshot
from broker.web.patron_session import LoggedPatron


def _sid(portal) -> str:
    return portal.client.get_cookie("sesame").value


def _stored(portal) -> dict:
    return portal.runtime.state.get(f"sess:{_sid(portal)}")


def _replace_patron(portal, value) -> None:
    data = _stored(portal)
    data["patron"] = value
    portal.runtime.state.put(f"sess:{_sid(portal)}", data, 600)


def test_the_session_holds_the_patron_and_the_snapshot_in_their_stored_form(portal):
    assert portal.login().status_code == 302
    stored = _stored(portal)["patron"]
    assert list(stored) == ["u", "l", "n", "t", "f"]
    # no card problem, no linked person, not erased: those fields are left out; the read time from the login's
    assert list(stored["f"]) == ["i", "l", "s", "d", "m", "b", "e"]
    patron = LoggedPatron.from_wire(stored)
    assert patron is not None and patron.library == "FR-147626101" and patron.network == "calvados"
    assert isinstance(patron.facts, PatronSnapshot) and patron.facts.membership == "active"
    assert patron.to_wire() == stored


@pytest.mark.parametrize("damaged", [
    "garbage", 42, ["uid"], {}, {"uid": None, "library": "FR-147626101", "network": "calvados", "at": 1.0},
    {"uid": "someone", "library": "FR-147626101", "network": "calvados"},
    {"uid": "someone", "library": "FR-147626101", "network": "calvados", "at": "yesterday"},
], ids=["text", "number", "list", "empty", "uid_none", "no_login_time", "login_time_text"])
def test_a_damaged_patron_entry_is_no_session_never_an_error(portal, damaged):
    assert portal.login().status_code == 302
    _replace_patron(portal, damaged)
    account = portal.client.get("/account")
    assert account.status_code == 302 and "/login" in account.headers["Location"]
    go = portal.client.get("/go/cafeyn")
    assert go.status_code == 302 and "/login" in go.headers["Location"]
    assert portal.client.get("/").status_code == 200


@pytest.mark.parametrize("facts", ["garbage", {"i": "eleven"}, {}, [1, 2]], ids=["text", "wrong_id", "empty", "list"])
def test_a_damaged_snapshot_keeps_the_patron_logged_in_and_is_replaced(portal, facts):
    assert portal.login().status_code == 302
    _replace_patron(portal, {**_stored(portal)["patron"], "f": facts})
    assert portal.client.get("/account").status_code == 200
    go = portal.client.get("/go/cafeyn")  # the way into the resource, not the login page
    assert go.status_code in (200, 302) and "/login" not in go.headers.get("Location", ""), go.status_code
    assert LoggedPatron.from_wire(_stored(portal)["patron"]).facts is not None  # read again and kept
