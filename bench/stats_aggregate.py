"""Statistics benchmark: how long one month of raw usage events takes to aggregate.

Builds a fresh database (SQLite in a temporary folder, or the PostgreSQL
database given with ``--database-url``, whose tables are emptied first), fills
one past month with ``--events`` usage events shaped like a large network
(133 libraries, 9 suppliers, 20,000 patrons, one attempt in ten refused, one
granted access in eight repeated within seconds), then times
``broker stats aggregate --month`` twice: the first computation, and the same
month again (the idempotent rerun a cron job does). Prints one JSON line.

    .venv/bin/python bench/stats_aggregate.py [--events 1000000] [--database-url URL]

The issue's target: 1,000,000 events aggregate in under 60 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

SECRET = "statistics-benchmark-secret-key-0123456789"
REASONS = ("not_in_bundle", "membership_pending", "membership_suspended", "partner_inactive", "age", "card_invalid")


def build_app(database_url: str | None, folder: Path):
    from sqlalchemy import create_engine

    from broker.app import create_app
    from broker.db.migrate import upgrade

    url = database_url or f"sqlite:///{folder / 'bench.db'}"
    if database_url:
        from sqlalchemy import text

        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    app = create_app({"secret_key": SECRET, "database_url": url, "instance_path": str(folder),
                      "log_level": "WARNING", "plugins_load_entrypoints": False})
    upgrade(app.extensions["broker"].db.engine)
    return app


def events(count: int, start: datetime, seconds: int, seed: int = 7) -> list[tuple]:
    """Rows of a busy month, in time order as Sésame writes them (ids grow with time).

    Tuples (at, network_id, library_id, supplier_id, patron_key, protocol, outcome).
    """
    rng = random.Random(seed)
    patrons = [(f"{i:032x}", 1 + i % 133) for i in range(20_000)]
    rows = []
    while len(rows) < count:
        key, library = rng.choice(patrons)
        network = 1 if library <= 100 else 2
        supplier = 1 + rng.randrange(9)
        at = start + timedelta(seconds=rng.random() * seconds)
        outcome = "granted" if rng.random() >= 0.1 else rng.choice(REASONS)
        rows.append((at, network, library, supplier, key, "saml", outcome))
        if outcome == "granted" and rng.random() < 0.125 and len(rows) < count:
            rows.append((at + timedelta(seconds=rng.uniform(0.5, 20)), network, library, supplier, key, "saml",
                         "granted"))
    rows.sort(key=lambda r: r[0])
    return rows


def fill(engine, rows, batch: int = 50_000) -> float:
    """Insert the rows as fast as the driver allows; returns seconds."""
    from sqlalchemy import insert

    from broker.db.models import UsageEvent

    started = time.perf_counter()
    columns = ("at", "network_id", "library_id", "supplier_id", "patron_key", "protocol", "outcome")
    if engine.dialect.name == "postgresql":
        raw = engine.raw_connection()
        try:
            with raw.cursor() as cur, cur.copy(
                    "COPY usage_events (at, network_id, library_id, supplier_id, patron_key, protocol, outcome) "
                    "FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            raw.commit()
        finally:
            raw.close()
        return time.perf_counter() - started
    chunk = []
    with engine.begin() as conn:
        for row in rows:
            chunk.append(dict(zip(columns, row)))
            if len(chunk) >= batch:
                conn.execute(insert(UsageEvent), chunk)
                chunk = []
        if chunk:
            conn.execute(insert(UsageEvent), chunk)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=None, help="a PostgreSQL database to use (its tables are dropped)")
    parser.add_argument("--month", default="2025-03")
    args = parser.parse_args(argv)

    from broker.services.stats import Month, aggregate_month

    month = Month.parse(args.month)
    with tempfile.TemporaryDirectory(prefix="sesame-stats-bench-") as tmp:
        app = build_app(args.database_url, Path(tmp))
        runtime = app.extensions["broker"]
        seconds = int((month.end - month.start).total_seconds())
        insert_s = fill(runtime.db.engine, events(args.events, month.start, seconds))
        runs = []
        for _ in range(2):
            started, cpu = time.perf_counter(), time.process_time()
            result = aggregate_month(runtime, month)
            # SQLite works inside this process: its CPU time is the cost on an idle machine
            runs.append({"seconds": round(time.perf_counter() - started, 2),
                         "cpu_seconds": round(time.process_time() - cpu, 2), "status": result.status,
                         "accesses": result.accesses, "refusals": result.refusals})
        runtime.close()
    report = {
        "bench": "stats_aggregate", "database": "postgresql" if args.database_url else "sqlite",
        "events": args.events, "insert_seconds": round(insert_s, 1), "first_run": runs[0], "rerun": runs[1],
        "target_seconds": 60, "load_average": [round(x, 1) for x in os.getloadavg()], "cpus": os.cpu_count(),
        "ok": all(r["seconds"] < 60 for r in runs) and
              (runs[0]["accesses"], runs[0]["refusals"]) == (runs[1]["accesses"], runs[1]["refusals"]),
    }
    print(json.dumps(report))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
