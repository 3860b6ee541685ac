"""``python -m bench.stacks``: the workers' CPU per flow of Sésame under several serving stacks.

    python -m bench.stacks                      # gunicorn sync 4 and gthread 2×4, broker serve 2×4, 2×2; 3 rounds
    python -m bench.stacks --rounds 5 --duration 10

One network and one set of patron sessions; Sésame is restarted in each stack in turn, warmed up,
then every scenario is measured. The stacks alternate within each round, so that a machine whose
speed drifts (other work on it) weighs on all of them alike. The figure compared is the workers'
CPU time per completed flow (bench/report.py), which holds on a shared machine where flows per
second do not. ``sync:N`` is plain gunicorn with N sync workers, ``gthread:WxT`` plain gunicorn with W
threaded workers of T threads (keep-alive 5 s), the stacks ``broker serve`` ran before it ran granian;
``serve:WxT`` runs as ``broker serve`` does (``python -m broker.server``, granian), W workers × T threads.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime

from broker.server import ServeOptions

from . import report, scenarios
from .infra import Gunicorn
from .run import commit, log
from .stack import SESAME, SesameServer, Stack

SCENARIOS = ("oidc_code", "saml_sso", "cas_login", "saml_login")


def parse_stack(text: str) -> tuple[str, ServeOptions | None, int, int]:
    """``sync:4``, ``gthread:2x4`` (plain gunicorn) or ``serve:2x4`` (broker serve): (name, options, workers, threads)."""
    kind, _, size = text.partition(":")
    workers, _, threads = size.partition("x")
    try:
        w, t = int(workers or 2 * (os.cpu_count() or 1)), int(threads or 0)
    except ValueError:
        raise SystemExit(f"unknown stack {text!r}: expected sync:N, gthread:WxT or serve:WxT") from None
    if kind == "sync":
        return text, None, w, 0
    if kind == "gthread" and t:
        return text, None, w, t
    if kind == "serve" and t:
        return text, replace(SESAME, workers=w, threads=t), 0, 0
    raise SystemExit(f"unknown stack {text!r}: expected sync:N, gthread:WxT or serve:WxT")


def measure(args) -> dict:
    stacks = [parse_stack(text) for text in args.stacks]
    figures: dict[str, dict[str, list[dict]]] = {name: {s: [] for s in SCENARIOS} for name, *_ in stacks}
    with Stack(libraries=args.libraries, patrons=args.patrons) as stack:
        patrons = stack.loaded.patrons
        c, d = args.connections, args.duration
        sessions, _ = scenarios.open_sessions(stack, patrons[: args.sessions], connections=c)
        log(f"{len(sessions.items)} sessions open")
        env, port = stack.sesame.env, stack.sesame.port
        offset = args.sessions
        for round_ in range(args.rounds):
            for name, serve, workers, threads in stacks:
                stack.replace_sesame(Gunicorn("broker.wsgi:app", env, workers, port=port, threads=threads)
                                     if serve is None else SesameServer("broker.wsgi:app", env, serve=serve, port=port))
                for scenario in SCENARIOS:
                    if scenario == "saml_login":
                        def run(duration, offset=offset):
                            return scenarios.saml_login(stack, patrons, duration=duration, connections=c,
                                                        offset=offset)
                        offset += 2000
                    else:
                        def run(duration, scenario=scenario):
                            return getattr(scenarios, scenario)(stack, sessions, duration=duration, connections=c)
                    run(2)  # warm: templates compiled, pools and caches filled
                    measured = run(d)
                    figures[name][scenario].append({
                        "flows_per_s": round(measured.flows_per_s, 1), "errors": measured.errors,
                        "server_cpu_ms_per_flow": report.server_ms_per_flow(measured)})
                log(f"round {round_ + 1}, {name}: " + ", ".join(
                    f"{s} {figures[name][s][-1]['server_cpu_ms_per_flow']} ms" for s in SCENARIOS))
    return {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "commit": commit(),
            "cpu_count": os.cpu_count(), "load_average_at_end": " ".join(f"{v:.2f}" for v in os.getloadavg()),
            "rounds": args.rounds, "duration_s": args.duration, "connections": args.connections,
            "sessions": args.sessions, "stacks": figures}


def markdown(doc: dict) -> str:
    lines = [f"Workers' CPU ms per flow, median (min–max) over {doc['rounds']} runs of {doc['duration_s']:g} s per "
             f"stack, alternating; {doc['connections']} concurrent flows; {doc['cpu_count']} CPUs; "
             f"commit `{doc['commit']}`, {doc['date']}.", "",
             "| stack | " + " | ".join(SCENARIOS) + " | flows/s (oidc_code) |",
             "|---|" + "---:|" * (len(SCENARIOS) + 1)]
    for name, by_scenario in doc["stacks"].items():
        cells = []
        for scenario in SCENARIOS:
            values = [r["server_cpu_ms_per_flow"] for r in by_scenario[scenario] if r["server_cpu_ms_per_flow"]]
            errors = sum(r["errors"] for r in by_scenario[scenario])
            cell = (f"{statistics.median(values):.2f} ({min(values):.2f}–{max(values):.2f})" if values else "—")
            cells.append(cell + (f", {errors} errors" if errors else ""))
        rates = [r["flows_per_s"] for r in by_scenario["oidc_code"]]
        cells.append(f"{statistics.median(rates):.0f}" if rates else "—")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Workers' CPU per flow under several serving stacks")
    parser.add_argument("stacks", nargs="*", default=["sync:4", "gthread:2x4", "serve:2x4", "serve:2x2"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=6.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--libraries", type=int, default=10)
    parser.add_argument("--patrons", type=int, default=2000)
    parser.add_argument("--sessions", type=int, default=600)
    parser.add_argument("--output", default="stacks", help="file stem under bench/results/")
    args = parser.parse_args(argv)
    started = time.monotonic()
    doc = measure(args)
    text = markdown(doc)
    report.RESULTS.mkdir(exist_ok=True)
    (report.RESULTS / f"{args.output}.json").write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    (report.RESULTS / f"{args.output}.md").write_text(text, encoding="utf-8")
    log(f"done in {(time.monotonic() - started) / 60:.1f} min")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
