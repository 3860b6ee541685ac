"""SIP2 benchmark: authentications per second through the connector's pool, and slow-library isolation.

Starts one SIP2 emulator process per library on loopback, then runs worker
threads that authenticate random patrons through each library's Sip2Connector.
Phase 1, throughput: every library fast, workers as fast as they can.
Phases 2 and 3, isolation: workers paced to ``--rate`` authentications/s in
all (below saturation, so that latency measures service, not queueing), first
with every library fast, then with one library's emulator answering after
``--delay-ms``. Prints one JSON line: the throughput of phase 1, and the p99
latency of the *other* libraries in phases 2 and 3.

    .venv/bin/python bench/sip2_bench.py [--libraries 10] [--duration 5] [--delay-ms 200]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

from connectors.sip2.connector import Sip2Connector, Sip2Settings


def write_patrons(folder: Path, count: int) -> tuple[Path, list[tuple[str, str]]]:
    patrons = [(f"2300{i:010d}", f"{1000 + i % 9000}") for i in range(count)]
    path = folder / "patrons.csv"
    lines = ["card,password,name,email,birth_date,category,expires,blocked"]
    lines += [f"{card},{pin},Usager {i},u{i}@example.org,1990-01-01,ADULTE,2099-12-31," for i, (card, pin) in enumerate(patrons)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, patrons


def start_emulator(patrons: Path, delay_ms: int) -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen(
        [sys.executable, "-m", "connectors.sip2.emulator", "--port", "0", "--patrons", str(patrons),
         "--login", "bench", "--login-password", "bench", "--delay-ms", str(delay_ms)],
        stdout=subprocess.PIPE,
        text=True,
    )
    banner = process.stdout.readline() if process.stdout else ""
    match = re.search(r":(\d+) ", banner)
    if not match:
        process.kill()
        raise SystemExit(f"emulator did not start: {banner!r}")
    return process, int(match.group(1))


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_phase(
    connectors: list[Sip2Connector],
    patrons: list[tuple[str, str]],
    threads_per_library: int,
    duration: float,
    rate: float = 0.0,
) -> dict[str, object]:
    latencies: list[list[float]] = [[] for _ in connectors]
    errors = [0] * len(connectors)
    stop = threading.Event()

    interval = len(connectors) * threads_per_library / rate if rate else 0.0

    def worker(index: int, seed: int) -> None:
        rng = random.Random(seed)
        connector, sink = connectors[index], latencies[index]
        due = time.perf_counter() + rng.random() * interval
        while not stop.is_set():
            if interval:
                due += interval
                wait = due - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                elif wait < -interval:
                    due = time.perf_counter()  # fell behind (a slow SIGB): do not burst to catch up
            card, pin = patrons[rng.randrange(len(patrons))]
            started = time.perf_counter()
            try:
                connector.authenticate(card, pin)
            except Exception:
                errors[index] += 1
                continue
            sink.append(time.perf_counter() - started)

    threads = [
        threading.Thread(target=worker, args=(index, index * 100 + n), daemon=True)
        for index in range(len(connectors))
        for n in range(threads_per_library)
    ]
    # warm-up: open the pools before measuring
    for connector in connectors:
        connector.authenticate(*patrons[0])
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    time.sleep(duration)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return {"latencies": latencies, "errors": errors, "elapsed": elapsed}


def summarize(phase: dict[str, object], others: range) -> dict[str, float]:
    latencies: list[list[float]] = phase["latencies"]  # type: ignore[assignment]
    pooled = [value for index in others for value in latencies[index]]
    return {
        "auth_per_s": round(sum(len(values) for values in latencies) / phase["elapsed"], 1),  # type: ignore[operator]
        "others_auth_per_s": round(len(pooled) / phase["elapsed"], 1),  # type: ignore[operator]
        "others_p50_ms": round(percentile(pooled, 0.50) * 1000, 3),
        "others_p99_ms": round(percentile(pooled, 0.99) * 1000, 3),
        "errors": sum(phase["errors"]),  # type: ignore[arg-type]
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--libraries", type=int, default=10)
    parser.add_argument("--threads-per-library", type=int, default=2)
    parser.add_argument("--pool-size", type=int, default=2)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--delay-ms", type=int, default=200)
    parser.add_argument("--patrons", type=int, default=500)
    parser.add_argument("--rate", type=float, default=2000.0, help="offered load of the isolation phases")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
        path, patrons = write_patrons(Path(folder), args.patrons)
        ports = []
        for delay in [0] * args.libraries + [args.delay_ms]:
            process, port = start_emulator(path, delay)
            stack.callback(process.wait, 5)
            stack.callback(process.terminate)
            ports.append(port)

        def connector(port: int) -> Sip2Connector:
            settings = Sip2Settings(
                host="127.0.0.1", port=port, login="bench", password="bench", institution="BENCH",
                pool_size=args.pool_size, timeout=5.0,
            )
            made = Sip2Connector(settings)
            stack.callback(made.close)
            return made

        fast = [connector(port) for port in ports[: args.libraries]]
        slow_first = [connector(ports[-1])] + fast[1:]
        others = range(1, args.libraries)

        throughput = run_phase(fast, patrons, args.threads_per_library, args.duration)
        baseline = run_phase(fast, patrons, args.threads_per_library, args.duration, args.rate)
        with_slow = run_phase(slow_first, patrons, args.threads_per_library, args.duration, args.rate)

    top = summarize(throughput, others)
    base, slow = summarize(baseline, others), summarize(with_slow, others)
    slow_latencies = with_slow["latencies"][0]  # type: ignore[index]
    result = {
        "bench": "sip2",
        "libraries": args.libraries,
        "threads": args.libraries * args.threads_per_library,
        "pool_size": args.pool_size,
        "duration_s": args.duration,
        "auth_per_s": top["auth_per_s"],
        "saturated_p99_ms": top["others_p99_ms"],
        "offered_rate": args.rate,
        "baseline_auth_per_s": base["auth_per_s"],
        "baseline_others_p50_ms": base["others_p50_ms"],
        "baseline_others_p99_ms": base["others_p99_ms"],
        "slow_delay_ms": args.delay_ms,
        "slow_library_p50_ms": round(percentile(slow_latencies, 0.5) * 1000, 3),
        "with_slow_auth_per_s": slow["auth_per_s"],
        "with_slow_others_p50_ms": slow["others_p50_ms"],
        "with_slow_others_p99_ms": slow["others_p99_ms"],
        "others_p99_ratio": round(slow["others_p99_ms"] / base["others_p99_ms"], 3),
        "errors": top["errors"] + base["errors"] + slow["errors"],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
