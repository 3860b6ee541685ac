"""Results: the JSON document and the Markdown table beside it, with ratios and verdicts."""

from __future__ import annotations

import json
from pathlib import Path

from .loadgen import Run

RESULTS = Path(__file__).resolve().parent / "results"

#: minimum throughput as a share of the ceiling's, per scenario (issues 5, 6 and 7)
RATIO_TARGETS = {"saml_sso": 0.15, "saml_login": 0.05, "oidc_code": 0.20, "cas_login": 0.20}
P99_TARGET_MS = 50.0
#: Redis bytes per patron session, after one SAML, OIDC and CAS sign-on each (MEMORY USAGE)
SESSION_BYTES_TARGET = 512
GROWTH_TOLERANCE = 0.10
#: the other libraries' login p99 while one SIGB is silent, at most this much above its p99 without the fault
FAULT_P99_TOLERANCE = 0.20


def scenario_row(run: Run, ceiling_per_s: float | None) -> dict:
    row = {
        "name": run.scenario,
        "flows_per_s": round(run.flows_per_s, 1),
        "p50_ms": round(run.p50_ms, 2),
        "p95_ms": round(run.p95_ms, 2),
        "p99_ms": round(run.p99_ms, 2),
        "errors": run.errors,
        "client_cpu": round(run.client_cpu, 3),
        "server_cpu": round(run.server_cpu, 3),
        "server_cpu_ms_per_flow": server_ms_per_flow(run),
        "machine_cpu": round(run.machine_cpu, 3),
        "request_p99_ms": round(run.request_p99_ms, 2),
        "flows": run.flows,
        "requests": run.requests,
        "seconds": round(run.seconds, 1),
    }
    if run.error_kinds:
        row["error_kinds"] = run.error_kinds
    if ceiling_per_s and run.scenario != "ceiling":
        row["ratio_to_ceiling"] = round(run.flows_per_s / ceiling_per_s, 3)
    target = RATIO_TARGETS.get(run.scenario)
    if target is not None:
        row["target_ratio"] = target
        row["verdict"] = verdict(row, target)
    return row


def server_ms_per_flow(run: Run, cores: int | None = None) -> float | None:
    """Milliseconds of server (worker) CPU per completed flow: share × cores × 1000 / flows per second.

    Unlike flows per second, this hardly moves when other processes share the machine: it is the
    figure to compare two commits by on a busy machine.
    """
    import os

    if not run.flows_per_s or not run.server_cpu:
        return None
    return round(run.server_cpu * (cores or os.cpu_count() or 1) * 1000 / run.flows_per_s, 2)


def verdict(row: dict, target: float) -> dict:
    return {"ratio": row.get("ratio_to_ceiling", 0) >= target, "errors": row["errors"] == 0,
            "p99": row["p99_ms"] <= P99_TARGET_MS}


def fault_section(fault, timeout_s: float) -> dict:
    """The ``sigb_silent`` figures: other libraries' logins without and with the fault, the silenced ones'."""
    from .sip2_bench import percentile

    normal_p99 = (fault.before.p99_ms + fault.after.p99_ms) / 2
    normal_per_s = (fault.before.flows_per_s + fault.after.flows_per_s) / 2
    seconds = [s for s, _, _ in fault.refused]
    told = sum(1 for _, status, page in fault.refused if status == 503 and page)
    change = fault.faulty.p99_ms / normal_p99 - 1 if normal_p99 else 0.0
    return {
        "library": fault.library, "connector_timeout_s": timeout_s,
        "others": {name: {"flows_per_s": round(run.flows_per_s, 1), "p50_ms": round(run.p50_ms, 1),
                          "p99_ms": round(run.p99_ms, 1), "errors": run.errors}
                   for name, run in (("before", fault.before), ("during", fault.faulty), ("after", fault.after))},
        "p99_change": round(change, 3), "throughput_change": round(fault.faulty.flows_per_s / normal_per_s - 1, 3)
        if normal_per_s else 0.0,
        "silenced": {"attempts": len(seconds), "told_unavailable": told,
                     "at_once": sum(1 for s in seconds if s < 0.5),
                     "p50_s": round(percentile(seconds, 0.5), 2) if seconds else None,
                     "max_s": round(max(seconds), 2) if seconds else None},
        "ok": {"p99": change <= FAULT_P99_TOLERANCE, "others_errors": fault.faulty.errors == 0,
               "silenced_told": bool(seconds) and told == len(seconds),
               "within_timeout": bool(seconds) and max(seconds) <= timeout_s + 1.0},
    }


def write(document: dict, *, folder: Path = RESULTS, stem: str = "latest") -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    json_path, md_path = folder / f"{stem}.json", folder / f"{stem}.md"
    json_path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    md_path.write_text(markdown(document), encoding="utf-8")
    return json_path, md_path


def _ratio(row: dict) -> str:
    ratio = row.get("ratio_to_ceiling")
    if ratio is None:
        return "—"
    around = row.get("ceiling_flows_per_s")
    return f"{ratio} ({around:.0f}/s)" if around else str(ratio)


def _measured(section: dict) -> str:
    """", at commit X on DATE" for a section kept from an earlier run (the soak, the growth matrix)."""
    when = section.get("measured")
    return f", at commit `{when['commit']}` on {when['date']}" if when else ""


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _yes(ok: bool | None) -> str:
    return "—" if ok is None else ("✅" if ok else "❌")


def markdown(doc: dict) -> str:
    env = doc.get("environment", {})
    lines = ["# Sésame load benchmark — latest results", "",
             f"Run {env.get('date', '?')} on {env.get('cpu_count', '?')} CPU(s) ({env.get('cpu_model', '?')}), "
             f"{env.get('memory_gb', '?')} GB; commit `{env.get('commit', '?')}`. "
             f"Produced by `make bench` (`python -m bench.run`); the JSON beside this file has every figure.", ""]
    lines += ["## Scenarios", "",
              "Throughput is complete flows per second; latencies are per flow (wrk, closed loop, "
              f"{env.get('connections', '?')} concurrent flows). Each ratio is to the `ceiling` measured just "
              "before and just after that scenario in the same run (the mean of the two, in brackets); the "
              "ceiling row gives the mean of all its runs.", "",
              "| scenario | flows/s | ratio | target | p50 ms | p95 ms | p99 ms | req p99 ms | errors | client CPU | server CPU | server CPU ms/flow | verdict |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for row in doc.get("scenarios", []):
        v = row.get("verdict")
        verdict_text = "—" if v is None else " ".join(
            f"{name} {_yes(ok)}" for name, ok in (("ratio", v["ratio"]), ("errors", v["errors"]), ("p99", v["p99"])))
        lines.append(
            f"| {row['name']} | {row['flows_per_s']:.0f} | {_ratio(row)} | "
            f"{row.get('target_ratio', '—')} | {row['p50_ms']:.1f} | {row['p95_ms']:.1f} | {row['p99_ms']:.1f} | "
            f"{row['request_p99_ms']:.1f} | {row['errors']} | {row['client_cpu']:.0%} | {row['server_cpu']:.0%} | "
            f"{_ms(row.get('server_cpu_ms_per_flow'))} | {verdict_text} |")
    lines += ["", "client CPU = the load generator's share of the machine's CPU time during the run "
              "(user + system over wall time × cores); server CPU = the Sésame workers' share; server CPU ms/flow = "
              "the workers' CPU time per completed flow (share × cores × 1000 / flows per second), the figure that "
              "holds when the machine is shared.", ""]

    mem = doc.get("memory", {})
    if mem:
        lines += ["## Memory", ""]
        per = doc.get("redis_bytes_per_session")
        if per is not None:
            lines.append(f"- Redis bytes per active patron session (MEMORY USAGE, mean over "
                         f"{mem.get('sessions', {}).get('sessions', '?')} sessions after login): **{per}**")
        after = mem.get("sessions_after_sso")
        if after:
            worst = after.get("max_bytes")
            lines.append(f"- the same sessions after one SAML, OIDC and CAS single sign-on: mean "
                         f"{after.get('mean_bytes')} bytes, max {worst} (target ≤ {SESSION_BYTES_TARGET}) "
                         f"{_yes(worst <= SESSION_BYTES_TARGET if worst is not None else None)}")
        growth = mem.get("worker_rss")
        if growth:
            lines.append(f"- Sésame worker RSS across {growth['logins']} logins (after {growth['warmup_logins']} "
                         f"warm-up logins): before {growth['before_mb']} MB, after {growth['after_mb']} MB per worker "
                         f"(max growth {growth['max_growth_mb']} MB) {_yes(growth['max_growth_mb'] <= growth['tolerance_mb'])}")
        soak = mem.get("soak")
        if soak:
            trail = ", ".join(f"{s['rss_mb']}" for s in soak["samples"][:: max(1, len(soak["samples"]) // 8)])
            lines.append(f"- soak (`--soak`{_measured(soak)}): {soak['logins']} logins at {soak['logins_per_s']}/s after "
                         f"{soak['warmup_logins']} warm-up logins, {soak['errors']} errors: worker RSS "
                         f"{soak['before_mb']} → {soak['after_mb']} MB (max growth {soak['max_growth_mb']} MB; "
                         f"mean along the run: {trail} MB) {_yes(soak['max_growth_mb'] <= soak['tolerance_mb'])}")
        lines.append("")

    growth = doc.get("growth")
    if growth:
        lines += ["## Cost growth", "", f"Measured by `--growth`{_measured(growth)}. "
                  "Throughput of each scenario with more patrons and libraries in the database "
                  f"(target: within {GROWTH_TOLERANCE:.0%} of the smallest size). Flows/s, and in brackets the ratio "
                  "to the ceiling measured at the same size, on which the verdict is made.", "",
                  "| scenario | " + " | ".join(g["label"] for g in growth["sizes"]) + " | worst change | verdict |",
                  "|---|" + "---:|" * len(growth["sizes"]) + "---:|---|"]
        if growth.get("ceiling_flows_per_s"):
            cells = " | ".join(f"{v:.0f}" for v in growth["ceiling_flows_per_s"])
            lines.append(f"| ceiling | {cells} | | |")
        for name, row in growth["scenarios"].items():
            ratios = row.get("ratios") or [None] * len(row["flows_per_s"])
            cells = " | ".join(f"{v:.0f}" + (f" ({r:.3f})" if r is not None else "")
                               for v, r in zip(row["flows_per_s"], ratios))
            lines.append(f"| {name} | {cells} | {row['worst_change']:+.1%} | {_yes(row['ok'])} |")
        lines.append("")

    fault = doc.get("faults", {}).get("sigb_silent")
    if fault:
        others, silenced, ok = fault["others"], fault["silenced"], fault["ok"]
        lines += ["## Faults under load: one SIGB stops answering", "",
                  f"Library `{fault['library']}`'s SIP2 server is stopped (SIGSTOP: connections hang) while the other "
                  "libraries' patrons log in under the same closed-loop load as above; the same load runs just "
                  "before and just after, with every SIGB answering. Meanwhile the silenced library's patrons keep "
                  "trying to log in (two at a time, one attempt every 0.25 s each).", "",
                  "| other libraries' logins | flows/s | p50 ms | p99 ms | errors |", "|---|---:|---:|---:|---:|"]
        for name in ("before", "during", "after"):
            row = others[name]
            lines.append(f"| {name} | {row['flows_per_s']:.0f} | {row['p50_ms']:.1f} | {row['p99_ms']:.1f} | "
                         f"{row['errors']} |")
        lines += ["", f"- other libraries' p99 during the fault: {fault['p99_change']:+.1%} against the mean of "
                  f"before and after (target: at most +{FAULT_P99_TOLERANCE:.0%}) {_yes(ok['p99'])}; "
                  f"throughput {fault['throughput_change']:+.1%}; errors {_yes(ok['others_errors'])}",
                  f"- the silenced library's {silenced['attempts']} attempts: {silenced['told_unavailable']} "
                  f"answered 503 with the \"ne répond pas\" page {_yes(ok['silenced_told'])}; the slowest after "
                  f"{silenced['max_s']} s (connector timeout {fault['connector_timeout_s']} s) "
                  f"{_yes(ok['within_timeout'])}; {silenced['at_once']} told at once (breaker open, or another "
                  "call already waiting for that SIGB)", ""]

    profiles = doc.get("profiles")
    if profiles:
        lines += ["## Where the time goes (py-spy)", ""]
        for name, prof in profiles.items():
            lines.append(f"**{name}** ({prof.get('samples', 0)} samples over the workers; inclusive share):")
            lines.append("")
            for spot in prof.get("project", [])[:10]:
                lines.append(f"- `{spot['where']}` {spot['share']:.0%}")
            own = ", ".join(f"`{s['where']}` {s['share']:.0%}" for s in prof.get("own", [])[:6])
            lines.append(f"- innermost frames: {own}")
            lines.append("")

    lines += ["## Environment", "", "| | |", "|---|---|"]
    for key, value in env.items():
        lines.append(f"| {key} | {value} |")
    notes = doc.get("notes")
    if notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"
