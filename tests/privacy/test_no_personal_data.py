"""After a full run of the flows, no card number, name, e-mail or PIN in logs, metrics, state or statistics."""

from __future__ import annotations

import logging
import re

from sqlalchemy import select

from broker.db.models import StateEntry, Supplier, UsageEvent
from broker.db.stats_models import StatsCursor, StatsLibraryMonth, StatsMonth, StatsRefusalMonth, StatsSupplierMonth
from broker.domain.memberships import Transition
from broker.logs import JsonFormatter
from broker.services import memberships
from broker.services.retention import purge
from broker.services.stats import aggregate
from fixtures import stats as statskit

VIRE = "FR-147626101"
CARD, PIN = "ZQ7744109981", "908172"
NAME, EMAIL = "Zéphyrine Quetzalcoatl", "zephyrine.quetzal@example.net"
SECRETS = [CARD, CARD.lower(), PIN, NAME, "Quetzalcoatl", EMAIL, "zephyrine.quetzal",
           "V0001", "Sarah Fontaine", "sarah.fontaine@example.org", "4321"]
SIGB_CACHE = "sigb-cache:"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _csrf(client, path: str) -> str:
    match = _CSRF.search(client.get(path).get_data(as_text=True))
    assert match, path
    return match.group(1)


def _flows(app) -> None:
    """Registration, validation, logins (one with a wrong PIN), resources, refusals, staff pages, aggregation."""
    from connectors.local import patrons as local_patrons

    runtime = app.extensions["broker"]
    with runtime.db.session() as s:
        rows = local_patrons.parse(f"card,name,birth_date,expires,pin,email\n"
                                   f"{CARD},{NAME},1990-02-03,2031-12-31,{PIN},{EMAIL}\n")
        local_patrons.import_rows(runtime, s, VIRE, rows, actor="test")
        for supplier in s.scalars(select(Supplier)):
            supplier.login_url = f"https://{supplier.slug}.example.com/login"
    patron = app.test_client()
    r = patron.post("/register", data={"library": VIRE, "card": CARD, "password": PIN, "email": EMAIL,
                                       "consent": "yes", "csrf_token": _csrf(patron, "/register")})
    assert r.status_code in (302, 303), r.status_code
    with runtime.db.session() as s:
        membership = memberships.find_membership(runtime, s, VIRE, CARD)
        memberships.change(runtime, s, membership, Transition.APPROVE, actor=statskit.ADMIN)
    other = app.test_client()
    r = other.post("/login", data={"library": VIRE, "card": CARD, "password": "000000",
                                   "csrf_token": _csrf(other, "/login")})
    assert r.status_code == 400
    for client, card, pin in ((patron, CARD, PIN), (other, "V0001", "4321")):
        r = client.post("/login", data={"library": VIRE, "card": card, "password": pin,
                                        "csrf_token": _csrf(client, "/login?renew=1")})
        assert r.status_code in (302, 303), (card, r.status_code)
        for slug in ("cafeyn", "pnb", "pnb", "digame", "not-a-supplier"):
            client.get(f"/go/{slug}")
        client.get("/account")
        client.get("/account/export")
    staff = statskit.as_staff(app, app.test_client(), statskit.ADMIN)
    aggregate(runtime)
    for path in ("/staff/stats/", "/staff/stats/networks/calvados", f"/staff/stats/libraries/{VIRE}",
                 f"/staff/stats/libraries/{VIRE}/export.csv", "/staff/stats/libraries/FR-141186001"):
        assert staff.get(path).status_code in (200, 403)
    purge(runtime, dry_run=True)


def _leaks(text: str) -> list[str]:
    found = []
    for secret in SECRETS:
        if secret.isdigit():
            if re.search(rf"(?<![\d.]){secret}(?!\d)", text):
                found.append(secret)
        elif secret.lower() in text.lower():
            found.append(secret)
    return found


def test_no_personal_data_after_the_flows(make_app, privacy_template, tmp_path, caplog):
    app = statskit.app_from(make_app, privacy_template, tmp_path)
    caplog.set_level(logging.DEBUG)
    _flows(app)
    runtime = app.extensions["broker"]

    formatter = JsonFormatter()
    logs = "\n".join(formatter.format(record) for record in caplog.records)
    assert "usage" in logs  # the event log did run
    assert _leaks(logs) == [], "personal data in the logs"

    from prometheus_client import generate_latest

    metrics = generate_latest().decode()
    assert "broker_issuances_total" in metrics
    assert _leaks(metrics) == [], "personal data in the metrics"

    with runtime.db.session() as s:
        # the SIGB answer cache is checked apart (test_the_sigb_cache_holds_no_personal_data)
        state = "\n".join(f"{e.key} {e.value}" for e in s.scalars(select(StateEntry))
                          if not e.key.startswith(SIGB_CACHE))
        assert state, "the flows left sessions in the state store"
        assert _leaks(state) == [], "personal data in the state store"
        usage = "\n".join(repr(tuple(r)) for r in s.execute(select(UsageEvent.__table__)))
        assert "granted" in usage and _leaks(usage) == [], "personal data in the usage events"
        stats = "\n".join(repr(tuple(r)) for model in (StatsMonth, StatsCursor, StatsSupplierMonth,
                                                       StatsRefusalMonth, StatsLibraryMonth)
                          for r in s.execute(select(model.__table__)))
        assert stats and _leaks(stats) == [], "personal data in the statistics tables"


def test_the_sigb_cache_holds_no_personal_data(make_app, privacy_template, tmp_path):
    app = statskit.app_from(make_app, privacy_template, tmp_path)
    _flows(app)
    runtime = app.extensions["broker"]
    with runtime.db.session() as s:
        cache = "\n".join(e.value for e in s.scalars(select(StateEntry).where(StateEntry.key.startswith(SIGB_CACHE))))
    assert cache
    assert _leaks(cache) == []
