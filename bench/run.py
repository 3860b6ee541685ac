"""``python -m bench.run`` (``make bench``): every standard scenario, memory figures, profiles → bench/results/.

    python -m bench.run                 # the standard run (about 8 minutes on 2 cores)
    python -m bench.run --growth        # cost growth: 1k/10k/100k patrons, 10/100/1,000 libraries
    python -m bench.run --quick         # a smoke run: small network, short runs, no profiles
    python -m bench.run --soak 100000   # only: a worker's RSS along 100,000 logins (about 10 minutes)

PostgreSQL and Redis: ``BROKER_BENCH_DATABASE_URL`` / ``BROKER_BENCH_REDIS_URL``
when set, otherwise private servers started in a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from . import loadgen, memory, population, profiling, report, scenarios
from .infra import ROOT
from .stack import Stack

SESSION_SCENARIOS = ("saml_sso", "oidc_code", "cas_login")


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True).stdout.strip() or "?"
    except OSError:
        return "?"


def cpu_busy(seconds: float = 2.0) -> float:
    """The machine's busy share of CPU time over the next ``seconds`` (every process, every core)."""
    busy0, total0 = loadgen.machine_busy()
    time.sleep(seconds)
    busy1, total1 = loadgen.machine_busy()
    return (busy1 - busy0) / max(1, total1 - total0)


def stack_description(stack: Stack) -> str:
    """What serves Sésame and the ceiling app in this run."""
    o = stack.serve
    return (f"Sésame as `broker serve` runs it: granian, {o.workers} workers × {o.threads} threads, "
            f"keep-alive {o.keepalive} s, with its request watchdog, worker jobs and metrics folder, one node; "
            f"the ceiling app: gunicorn sync, {stack.ceiling_workers} workers (2 per core)")


def environment(stack: Stack, args, busy_before: float) -> dict:
    import psutil

    cpu_model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True)
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit(),
        "cpu_model": cpu_model,
        "cpu_count": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "load_average_at_start": " ".join(f"{v:.2f}" for v in os.getloadavg()),
        "cpu_busy_before_start": round(busy_before, 3),
        "python": platform.python_version(),
        "postgresql": stack.pg.kind,
        "redis": f"{stack.redis.kind}, version {stack.redis.version()}",
        "servers": stack_description(stack),
        "load_generator": (wrk.stdout or wrk.stderr).splitlines()[0] if (wrk.stdout or wrk.stderr) else "wrk",
        "connections": args.connections,
        "duration_s": args.duration,
        "libraries": args.libraries,
        "patrons": args.patrons,
        "sessions_asked": args.sessions,
    }


def warm(fn, *a, **kw) -> None:
    """A short unmeasured run: templates compiled, pools and caches filled, connections open."""
    kw = dict(kw, duration=2)
    fn(*a, **kw)


def profile_scenario(stack: Stack, name: str, run, seconds: float) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="sesame-spy-"))
    # the workers are threaded: only the samples of the thread holding the GIL are CPU, the others wait
    spies = profiling.start(stack.sesame.worker_pids(), seconds + 1, folder, gil=True)
    if not spies:
        return {"error": "py-spy is not installed"}
    run(duration=seconds)
    for process, _ in spies:
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
    summary = profiling.summarize([out for _, out in spies], top=60)
    for _, out in spies:
        out.unlink(missing_ok=True)
    folder.rmdir()
    return {"samples": summary["samples"], "project": profiling.project_spots(summary, top=20),
            "own": summary["own"][:15]}


def standard(args) -> dict:
    notes: list[str] = []
    busy_before = cpu_busy()
    log(f"starting PostgreSQL, Redis, the SIP2 emulator; loading {args.libraries} libraries, {args.patrons} patrons")
    started = time.monotonic()
    with Stack(libraries=args.libraries, patrons=args.patrons) as stack:
        log(f"stack up in {time.monotonic() - started:.0f}s: {stack.pg.kind}")
        env = environment(stack, args, busy_before)
        patrons = stack.loaded.patrons
        c, d = args.connections, args.duration
        runs = {}

        warm(scenarios.ceiling, stack, connections=c)
        runs["ceiling"] = [scenarios.ceiling(stack, duration=d, connections=c)]
        log(f"ceiling: {runs['ceiling'][0].flows_per_s:.0f}/s")

        runs["sip2_auth"] = scenarios.sip2_auth(stack, patrons, duration=min(d, 10))
        log(f"sip2_auth: {runs['sip2_auth'].flows_per_s:.0f}/s")

        log(f"opening {args.sessions} patron sessions through /login")
        warm(scenarios.saml_login, stack, patrons, connections=c, offset=args.sessions)
        sessions, login_run = scenarios.open_sessions(stack, patrons[: args.sessions], connections=c,
                                                      max_seconds=args.sessions_seconds)
        log(f"{len(sessions.items)} sessions in {login_run.seconds:.0f}s ({login_run.flows_per_s:.0f} logins/s, "
            f"{login_run.errors} errors)")
        mem: dict = {"sessions": memory.session_bytes(stack.redis.url, [sid for _, sid, _ in sessions.items])}
        mem["login_run"] = {"logins_per_s": round(login_run.flows_per_s, 1), "errors": login_run.errors,
                            "p99_ms": round(login_run.p99_ms, 1)}

        # each scenario is judged against the ceiling measured just before and just after it: the
        # machine's speed moves by a third within one run, which a ceiling taken minutes away misses
        runs["ceiling"].append(scenarios.ceiling(stack, duration=d, connections=c))
        around: dict[str, float] = {}

        def measured(name: str, run) -> None:
            runs[name] = run
            runs["ceiling"].append(scenarios.ceiling(stack, duration=d, connections=c))
            around[name] = (runs["ceiling"][-2].flows_per_s + runs["ceiling"][-1].flows_per_s) / 2
            log(f"{name}: {run.flows_per_s:.0f}/s, p99 {run.p99_ms:.1f} ms, {run.errors} errors; "
                f"ceiling around it {around[name]:.0f}/s")

        for name in SESSION_SCENARIOS:
            fn = getattr(scenarios, name)
            warm(fn, stack, sessions, connections=c)
            measured(name, fn(stack, sessions, duration=d, connections=c))
        mem["sessions_after_sso"] = memory.session_bytes(stack.redis.url, [sid for _, sid, _ in sessions.items])

        measured("saml_login", scenarios.saml_login(stack, patrons, duration=d, connections=c, offset=args.sessions))
        ceiling_runs = runs.pop("ceiling")
        ceiling_per_s = sum(r.flows_per_s for r in ceiling_runs) / len(ceiling_runs)
        log(f"ceiling runs: {', '.join(f'{r.flows_per_s:.0f}' for r in ceiling_runs)}/s "
            f"(mean {ceiling_per_s:.0f}/s)")

        if args.logins_seconds > 0:
            mem["worker_rss"] = rss_growth(stack, patrons, args)

        profiles = {}
        if args.profile:
            order = sorted(report.RATIO_TARGETS, key=lambda n: runs[n].flows_per_s / ceiling_per_s
                           / report.RATIO_TARGETS[n])
            for name in order[: args.profile]:
                log(f"profiling {name} with py-spy for {args.profile_seconds}s")
                if name == "saml_login":
                    def fn(duration):
                        return scenarios.saml_login(stack, patrons, duration=duration, connections=c,
                                                    offset=args.sessions)
                else:
                    def fn(duration, n=name):
                        return getattr(scenarios, n)(stack, sessions, duration=duration, connections=c)
                profiles[name] = profile_scenario(stack, name, fn, args.profile_seconds)

        log("faults: one library's SIGB stops answering under load")
        fault = scenarios.sigb_silent(stack, patrons, duration=d, connections=c)
        faults = {"sigb_silent": report.fault_section(fault, population.SIP2_TIMEOUT)}
        log(f"faults: other libraries' p99 {faults['sigb_silent']['p99_change']:+.1%}, "
            f"silenced library's slowest answer {faults['sigb_silent']['silenced']['max_s']} s")

    env["load_average_at_end"] = " ".join(f"{v:.2f}" for v in os.getloadavg())
    # the run itself keeps every core busy: only what other processes used before it began says the machine
    # was shared (the load average, which lags by a minute, is kept in the environment for reference)
    busy = env["cpu_busy_before_start"]
    if busy > 0.25:
        notes.append(f"The machine was busy before the run began: {busy:.0%} of its CPU time was used by other "
                     "processes. Every scenario competed with that load; the ceiling runs (runs_flows_per_s) show "
                     "how much it moved.")
    ceiling_row = report.scenario_row(ceiling_runs[0], None)
    ceiling_row.update({"flows_per_s": round(ceiling_per_s, 1),
                        "runs_flows_per_s": [round(r.flows_per_s, 1) for r in ceiling_runs]})
    rows = [ceiling_row, report.scenario_row(runs["sip2_auth"], ceiling_per_s)]
    for n in ("saml_sso", "saml_login", "oidc_code", "cas_login"):
        row = report.scenario_row(runs[n], around[n])
        row["ceiling_flows_per_s"] = round(around[n], 1)
        row["ratio_to_mean_ceiling"] = round(runs[n].flows_per_s / ceiling_per_s, 3)
        rows.append(row)
    notes.append("sip2_auth is measured in-process through the SIP2 connector's pools (bench/sip2_bench.py); "
                 "its ratio to the ceiling is shown for scale only.")
    notes.append("Each scenario's per-flow latency is measured by the Lua script (gettimeofday) for chained "
                 "flows and by wrk for one-request flows; 'req p99' is the p99 of single HTTP requests.")
    return {"scenarios": rows, "redis_bytes_per_session": mem["sessions"]["mean_bytes"], "memory": mem,
            "profiles": profiles, "faults": faults, "environment": env, "targets": {
                "ratio_to_ceiling": report.RATIO_TARGETS, "p99_ms": report.P99_TARGET_MS, "errors": 0,
                "redis_bytes_per_session": report.SESSION_BYTES_TARGET}, "notes": notes}


def rss_growth(stack: Stack, patrons, args) -> dict:
    """Workers' RSS before and after a long run of logins (after a warm-up run of the same)."""
    c = args.connections
    warmup = scenarios.login_loop(stack, patrons, duration=args.logins_seconds / 4, connections=c)
    pids = stack.sesame.worker_pids()
    before = memory.rss(pids)
    run = scenarios.login_loop(stack, patrons, duration=args.logins_seconds, connections=c)
    after = memory.rss(pids)
    growth = [after[p] - before[p] for p in before if p in after]
    log(f"RSS: {run.flows} logins, growth per worker {[round(g / 2**20, 1) for g in growth]} MB")
    return {"logins": run.flows, "warmup_logins": warmup.flows, "logins_per_s": round(run.flows_per_s, 1),
            "errors": run.errors, "workers": len(before),
            "before_mb": round(sum(before.values()) / len(before) / 2**20, 1),
            "after_mb": round(sum(after.values()) / max(1, len(after)) / 2**20, 1),
            "max_growth_mb": round(max(growth) / 2**20, 2) if growth else None, "tolerance_mb": 2.0,
            "workers_restarted": len(set(stack.sesame.worker_pids()) - set(pids))}


def soak(args) -> dict:
    """Workers' RSS sampled along ``args.soak`` logins (after a warm-up), in chunks of about 30 seconds."""
    with Stack(libraries=args.libraries, patrons=args.patrons) as stack:
        patrons, c = stack.loaded.patrons, args.connections
        warmup = scenarios.login_loop(stack, patrons, duration=30, connections=c)
        pids = stack.sesame.worker_pids()
        before = memory.rss(pids)
        samples, done, errors, started = [], 0, 0, time.monotonic()
        while done < args.soak:
            run = scenarios.login_loop(stack, patrons, duration=30, connections=c)
            done, errors = done + run.flows, errors + run.errors
            now = memory.rss(pids)
            samples.append({"logins": done, "rss_mb": round(sum(now.values()) / max(1, len(now)) / 2**20, 1)})
            log(f"soak: {done} logins, mean worker RSS {samples[-1]['rss_mb']} MB")
        after = memory.rss(pids)
    growth_mb = [(after[p] - before[p]) / 2**20 for p in before if p in after]
    return {"logins": done, "warmup_logins": warmup.flows, "errors": errors,
            "logins_per_s": round(done / (time.monotonic() - started), 1), "workers": len(before),
            "before_mb": round(sum(before.values()) / len(before) / 2**20, 1),
            "after_mb": round(sum(after.values()) / max(1, len(after)) / 2**20, 1),
            "max_growth_mb": round(max(growth_mb), 2) if growth_mb else None, "tolerance_mb": 2.0,
            "samples": samples, "workers_restarted": len(set(stack.sesame.worker_pids()) - set(pids))}


def growth(args) -> dict:
    """The session scenarios and saml_login at three sizes; throughput should not depend on size.

    Each size also measures the ceiling (before and after its scenarios): the verdict compares each
    scenario's ratio to that size's ceiling, so that the machine's speed drifting between sizes (it
    moves by a quarter from one minute to the next on a shared machine) is not taken for growth.
    """
    sizes = [(1_000, 10), (10_000, 100), (100_000, 1_000)]
    if args.quick:
        sizes = [(500, 5), (2_000, 20)]
    names = ("saml_sso", "saml_login", "oidc_code", "cas_login")
    table: dict[str, list[float]] = {n: [] for n in names}
    ceilings: list[float] = []
    labels = []
    c, d = args.connections, args.duration
    for patrons_count, libraries in sizes:
        labels.append(f"{patrons_count // 1000}k patrons, {libraries} libraries" if patrons_count >= 1000
                      else f"{patrons_count} patrons, {libraries} libraries")
        log(f"growth: {labels[-1]}")
        with Stack(libraries=libraries, patrons=patrons_count) as stack:
            patrons = stack.loaded.patrons
            count = min(len(patrons) // 2, args.growth_sessions)
            # the flows draw their patrons from the whole population, across every library
            step = max(1, len(patrons) // count)
            chosen = patrons[::step][:count]
            warm(scenarios.ceiling, stack, connections=c)
            ceiling_runs = [scenarios.ceiling(stack, duration=d, connections=c).flows_per_s]
            sessions, _ = scenarios.open_sessions(stack, chosen, connections=c)
            for name in ("saml_sso", "oidc_code", "cas_login"):
                fn = getattr(scenarios, name)
                warm(fn, stack, sessions, connections=c)
                table[name].append(fn(stack, sessions, duration=d, connections=c).flows_per_s)
            others = patrons[1::step][:count * 4]
            warm(scenarios.saml_login, stack, others, connections=c)
            table["saml_login"].append(scenarios.saml_login(stack, others, duration=d, connections=c).flows_per_s)
            ceiling_runs.append(scenarios.ceiling(stack, duration=d, connections=c).flows_per_s)
            ceilings.append(sum(ceiling_runs) / len(ceiling_runs))
            log("growth: " + ", ".join(f"{n} {v[-1]:.0f}/s" for n, v in table.items())
                + f"; ceiling {ceilings[-1]:.0f}/s")
    rows = {}
    for name, values in table.items():
        ratios = [v / ceiling if ceiling else 0.0 for v, ceiling in zip(values, ceilings)]
        base = ratios[0]
        worst = min(ratios[1:], default=base)
        change = (worst - base) / base if base else 0.0
        rows[name] = {"flows_per_s": [round(v, 1) for v in values], "ratios": [round(r, 4) for r in ratios],
                      "worst_change": round(change, 3), "ok": change >= -report.GROWTH_TOLERANCE}
    return {"sizes": [{"label": label, "patrons": p, "libraries": lib} for label, (p, lib) in zip(labels, sizes)],
            "ceiling_flows_per_s": [round(v, 1) for v in ceilings], "scenarios": rows, "duration_s": d}


def stamped(section: dict) -> dict:
    """A long run's figures with the commit and date they were measured at."""
    section["measured"] = {"commit": commit(), "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}
    return section


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Sésame's load benchmark")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per measured scenario")
    parser.add_argument("--connections", type=int, default=8, help="concurrent flows (wrk connections)")
    parser.add_argument("--libraries", type=int, default=133)
    parser.add_argument("--patrons", type=int, default=20_000)
    parser.add_argument("--sessions", type=int, default=10_000, help="patrons logged in for the session scenarios")
    parser.add_argument("--sessions-seconds", type=float, default=150.0,
                        help="at most this long to open the sessions (the count reached is reported)")
    parser.add_argument("--logins-seconds", type=float, default=120.0,
                        help="seconds of logins for the worker RSS check (0: skip)")
    parser.add_argument("--profile", type=int, default=3, help="profile the N scenarios furthest from target")
    parser.add_argument("--profile-seconds", type=float, default=10.0)
    parser.add_argument("--growth", action="store_true", help="run the cost-growth matrix too")
    parser.add_argument("--growth-only", action="store_true", help="run only the cost-growth matrix")
    parser.add_argument("--growth-sessions", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="small and short: a smoke run")
    parser.add_argument("--soak", type=int, default=0, metavar="LOGINS",
                        help="run only the memory soak: worker RSS along this many logins")
    parser.add_argument("--output", default="latest", help="file stem under bench/results/")
    args = parser.parse_args(argv)
    # a TERM (timeout, Ctrl-C in a container) still stops every server this run started
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.quick:
        args.duration, args.libraries, args.patrons, args.sessions = 3.0, 10, 1000, 300
        args.logins_seconds, args.profile, args.profile_seconds, args.growth_sessions = 6.0, 1, 3.0, 200
    args.sessions = min(args.sessions, args.patrons // 2)

    started = time.monotonic()
    previous_path = report.RESULTS / f"{args.output}.json"
    previous: dict = json.loads(previous_path.read_text()) if previous_path.exists() else {}
    if args.growth_only or args.soak:
        document = previous
        if args.soak:
            document.setdefault("memory", {})["soak"] = stamped(soak(args))
    else:
        document = standard(args)
        # the long runs (--soak, --growth) are kept from an earlier run, each saying which commit it measured
        if "soak" in previous.get("memory", {}):
            document.setdefault("memory", {})["soak"] = previous["memory"]["soak"]
        if "growth" in previous and not args.growth:
            document["growth"] = previous["growth"]
    if args.growth or args.growth_only:
        document["growth"] = stamped(growth(args))
    document.setdefault("environment", {})["bench_minutes"] = round((time.monotonic() - started) / 60, 1)
    json_path, md_path = report.write(document, stem=args.output)
    log(f"wrote {json_path.relative_to(ROOT)} and {md_path.relative_to(ROOT)} in "
        f"{(time.monotonic() - started) / 60:.1f} min")
    print(md_path.read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
