"""Monthly aggregation: right to the unit against a plain-Python count, double clicks, reruns, concurrency."""

from __future__ import annotations

import multiprocessing
import random
from datetime import timedelta

import pytest

from broker.db.stats_models import StatsMonth
from broker.errors import InvalidInput
from broker.services.stats import Month, aggregate, aggregate_month
from fixtures import stats as statskit
from fixtures.stats import paris

pytestmark = pytest.mark.postgres


def _synthetic_batch(app, seed: int = 3) -> list[dict]:
    """Events of two past months across libraries and suppliers, with double clicks and refusals."""
    known = statskit.ids(app)
    rng = random.Random(seed)
    libraries = ["FR-140476101", "FR-143346101", "FR-147626101", "FR-141186001", "FR-142716101"]
    suppliers = ["cafeyn", "pnb", "skilleos", "digame"]
    patrons = [(f"{i:032x}", libraries[i % len(libraries)]) for i in range(40)]
    rows = []
    for month in (1, 2):
        for _ in range(400):
            key, code = rng.choice(patrons)
            at = paris(2025, month, rng.randint(1, 28), rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59))
            supplier = rng.choice(suppliers)
            outcome = "granted" if rng.random() > 0.15 else rng.choice(["not_in_bundle", "membership_pending", "age"])
            base = {"network_id": known["library_network"][code], "library_id": known["library"][code],
                    "supplier_id": known["supplier"][supplier], "patron_key": key, "outcome": outcome}
            rows.append({**base, "at": at})
            if outcome == "granted" and rng.random() < 0.3:  # a double click, or a second visit a bit later
                rows.append({**base, "at": at + timedelta(seconds=rng.choice([2, 15, 30, 31, 90]))})
    # refusals before any patron or supplier is known
    rows.append({"at": paris(2025, 1, 5), "network_id": None, "library_id": None, "supplier_id": None,
                 "patron_key": None, "outcome": "unknown_supplier"})
    return rows


def _check_month(app, month: str, expected: dict) -> None:
    stored = statskit.stored_figures(app, month)
    want_usage = {k: (v[0], len(v[1])) for k, v in expected["usage"].items()}
    assert stored["usage"] == want_usage
    assert stored["refusals"] == dict(expected["refusals"])
    for library, keys in expected["library_uniques"].items():
        assert stored["libraries"][library]["unique_patrons"] == len(keys)
        assert stored["libraries"][library]["accesses"] == sum(
            v[0] for (n, lib, s), v in expected["usage"].items() if lib == library)


def test_monthly_figures_are_right_to_the_unit(db_app):
    app = db_app
    runtime = app.extensions["broker"]
    statskit.insert_events(app, _synthetic_batch(app))
    attempts = statskit.record_flows(app)  # this month, through the access decision
    assert attempts > 0
    results = aggregate(runtime)
    assert {"2025-01", "2025-02", str(Month.current())} <= {r.month for r in results}
    expected = statskit.expected_figures(statskit.all_events(app))
    for month in ("2025-01", "2025-02", str(Month.current())):
        _check_month(app, month, expected[month])
    # the flows gave both granted accesses and refusals of several kinds
    current = statskit.stored_figures(app, str(Month.current()))
    assert sum(a for a, _ in current["usage"].values()) > 0
    assert {reason for *_, reason in current["refusals"]} >= {"membership_pending", "partner_inactive"}


def test_double_clicks_count_once(stats_app):
    app = stats_app
    known = statskit.ids(app)
    lib, net = known["library"]["FR-140476101"], known["network"]["calvados"]
    cafeyn, pnb = known["supplier"]["cafeyn"], known["supplier"]["pnb"]

    def ev(at, supplier=cafeyn, key="a" * 32, outcome="granted"):
        return {"at": at, "network_id": net, "library_id": lib, "supplier_id": supplier, "patron_key": key,
                "outcome": outcome}

    t = paris(2025, 3, 10, 14)
    rows = [
        ev(t), ev(t + timedelta(seconds=10)),                                # double click: 1
        ev(t + timedelta(minutes=5)), ev(t + timedelta(minutes=5, seconds=30)),  # exactly 30 s: still 1
        ev(t + timedelta(minutes=10)), ev(t + timedelta(minutes=10, seconds=31)),  # 31 s apart: 2
        # a chain of clicks 20 s apart: one access
        *[ev(t + timedelta(minutes=20, seconds=20 * i)) for i in range(5)],
        # another supplier in between does not break the rule for cafeyn, and counts on its own
        ev(t + timedelta(minutes=30)), ev(t + timedelta(minutes=30, seconds=5), supplier=pnb),
        ev(t + timedelta(minutes=30, seconds=10)),
        # another patron clicking at the same time counts
        ev(t + timedelta(minutes=30, seconds=1), key="b" * 32),
        # a refusal between two clicks is not an access and does not restart the window
        ev(t + timedelta(minutes=40)), ev(t + timedelta(minutes=40, seconds=5), outcome="age"),
        ev(t + timedelta(minutes=40, seconds=20)),
        # across midnight at the end of the month (Paris time): counted once, in March
        ev(paris(2025, 3, 31, 23, 59, 50)), ev(paris(2025, 4, 1, 0, 0, 5)),
    ]
    statskit.insert_events(app, rows)
    aggregate(app.extensions["broker"])
    march = statskit.stored_figures(app, "2025-03")["usage"]
    assert march[(net, lib, cafeyn)] == (1 + 1 + 2 + 1 + 1 + 1 + 1 + 1, 2)
    assert march[(net, lib, pnb)] == (1, 1)
    april = statskit.stored_figures(app, "2025-04")["usage"]
    # the click at 00:00:05 was a double click of 23:59:50: no access, and no April user
    assert april.get((net, lib, cafeyn), (0, 0)) == (0, 0)
    expected = statskit.expected_figures(statskit.all_events(app))
    assert {k: (v[0], len(v[1])) for k, v in expected["2025-03"]["usage"].items()} == march


def test_running_twice_gives_the_same_figures_and_new_events_are_picked_up(stats_app):
    app = stats_app
    runtime = app.extensions["broker"]
    statskit.insert_events(app, _synthetic_batch(app, seed=11))
    aggregate(runtime)
    first = {m: statskit.stored_figures(app, m) for m in ("2025-01", "2025-02")}
    again = aggregate(runtime)
    assert {r.month for r in again} == {str(Month.current())}  # past final months are not redone
    assert {m: statskit.stored_figures(app, m) for m in first} == first
    aggregate_month(runtime, Month(2025, 1))  # forced: same figures
    assert statskit.stored_figures(app, "2025-01") == first["2025-01"]
    # a late event of January (an import, a slow writer) is found through the cursor
    known = statskit.ids(app)
    statskit.insert_events(app, [{"at": paris(2025, 1, 20), "network_id": known["network"]["calvados"],
                                  "library_id": known["library"]["FR-140476101"],
                                  "supplier_id": known["supplier"]["vodeclic"], "patron_key": "f" * 32,
                                  "outcome": "granted"}])
    redone = {r.month for r in aggregate(runtime)}
    assert "2025-01" in redone and "2025-02" not in redone
    _check_month(app, "2025-01", statskit.expected_figures(statskit.all_events(app))["2025-01"])


def _aggregate_in_process(settings: dict, queue) -> None:
    from broker.app import create_app
    from broker.services.stats import aggregate as run

    app = create_app(settings)
    try:
        queue.put(sorted(r.status for r in run(app.extensions["broker"])))
    except Exception as exc:  # pragma: no cover - reported to the test
        queue.put(repr(exc))
    finally:
        app.extensions["broker"].close()


def test_two_processes_at_once_give_the_same_figures(db_app):
    app = db_app
    runtime = app.extensions["broker"]
    statskit.insert_events(app, _synthetic_batch(app, seed=5) * 3)
    settings = {"secret_key": statskit.SECRET, "database_url": runtime.settings.effective_database_url,
                "instance_path": runtime.settings.instance_path, "log_level": "WARNING",
                "plugins_load_entrypoints": False}
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [context.Process(target=_aggregate_in_process, args=(settings, queue)) for _ in range(2)]
    for w in workers:
        w.start()
    outcomes = [queue.get(timeout=120) for _ in workers]
    for w in workers:
        w.join(30)
    assert all(isinstance(o, list) for o in outcomes), outcomes
    assert all(set(o) <= {"aggregated", "kept"} for o in outcomes), outcomes
    concurrent = {m: statskit.stored_figures(app, m) for m in ("2025-01", "2025-02")}
    for month in concurrent:
        aggregate_month(runtime, Month.parse(month))
        assert statskit.stored_figures(app, month) == concurrent[month]
    expected = statskit.expected_figures(statskit.all_events(app))
    _check_month(app, "2025-01", expected["2025-01"])


def test_registrations_and_members_per_library(stats_app):
    """New, validated and refused registrations of a month, and the states at its end."""
    from broker.domain.memberships import Transition
    from broker.domain.patrons import PatronRecord
    from broker.services import libraries, memberships

    app = stats_app
    runtime = app.extensions["broker"]
    moments = {}
    with runtime.db.session() as s:
        lib = libraries.get_library(s, "FR-147626101")  # Vire: referent validates
        made = []
        for i in range(4):
            record = PatronRecord(card=f"T{i:04d}", name=f"Test {i}")
            made.append(memberships.register(runtime, s, lib, f"T{i:04d}", record, email=None))
        memberships.change(runtime, s, made[0], Transition.APPROVE, actor="referent@vire.example.org")
        memberships.change(runtime, s, made[1], Transition.APPROVE, actor="referent@vire.example.org")
        memberships.change(runtime, s, made[2], Transition.REFUSE, actor="referent@vire.example.org", reason="x")
        s.flush()
        lib_id = lib.id
        # move the history into the past: registered in May 2025, decided in May or June
        for m in made:
            for event in m.history:
                moments[event.id] = (paris(2025, 5, 10) if event.transition == "register" else
                                     paris(2025, 6, 2) if m is made[1] else paris(2025, 5, 20))
                event.at = moments[event.id]
    aggregate(runtime)
    may = statskit.stored_figures(app, "2025-05")["libraries"][lib_id]
    june = statskit.stored_figures(app, "2025-06")["libraries"][lib_id]
    assert (may["registrations"], may["validated"], may["refused"]) == (4, 1, 1)
    assert (may["pending_end"], may["active_end"]) == (2, 1)   # made[1] and made[3] still waiting
    assert (june["registrations"], june["validated"], june["refused"]) == (0, 1, 0)
    assert (june["pending_end"], june["active_end"]) == (1, 2)
    # a quiet month in between still carries the members
    july = statskit.stored_figures(app, "2025-07")["libraries"][lib_id]
    assert (july["pending_end"], july["active_end"]) == (1, 2)


def test_bad_months_are_refused():
    for text in ("2025-13", "2025-00", "2025-3", "25-03", "March", "", None, "1999-12", "2025-03-01", "２０２５-03"):
        with pytest.raises(InvalidInput):
            Month.parse(text)
    with pytest.raises(InvalidInput) as caught:
        Month.parse(str(Month.current().next()))
    assert caught.value.code == "future_month"


def test_a_future_month_is_not_aggregated(stats_app):
    with pytest.raises(InvalidInput):
        aggregate_month(stats_app.extensions["broker"], Month.current().next())


def test_a_sealed_month_is_left_as_it_is(stats_app):
    app = stats_app
    runtime = app.extensions["broker"]
    statskit.insert_events(app, _synthetic_batch(app, seed=2))
    aggregate(runtime)
    before = statskit.stored_figures(app, "2025-01")
    with runtime.db.session() as s:
        s.get(StatsMonth, "2025-01").sealed_at = paris(2026, 1, 1)
    statskit.insert_events(app, [{"at": paris(2025, 1, 3), "network_id": 1, "library_id": 1, "supplier_id": 1,
                                  "patron_key": "e" * 32, "outcome": "granted"}])
    assert aggregate_month(runtime, Month(2025, 1)).status == "sealed"
    assert "2025-01" not in {r.month for r in aggregate(runtime)}
    assert statskit.stored_figures(app, "2025-01") == before


def test_statistics_tables_hold_no_patron_key(stats_app):
    from broker.db.stats_models import StatsLibraryMonth, StatsRefusalMonth, StatsSupplierMonth
    from broker.db.stats_models import StatsMonth as SM

    for model in (SM, StatsLibraryMonth, StatsRefusalMonth, StatsSupplierMonth):
        columns = {c.name for c in model.__table__.columns}
        assert not columns & {"patron_key", "uid", "patron_id", "monthly_key", "card_digest"}, model
