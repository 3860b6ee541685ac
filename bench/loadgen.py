"""The load generator: ``wrk`` with ``lua/flows.lua``, in its own process, and what it cost.

A scenario's inputs (session cookies, AuthnRequests, cards) are written
beforehand, one per line, so that the Lua side only chains requests. The
client's CPU share is the wrk process's user+system time over the run's
wall time and the machine's cores, from ``wait4``'s resource usage.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import signal
import subprocess
import tempfile
import time
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

LUA = Path(__file__).resolve().parent / "lua" / "flows.lua"
SINGLE = ("ceiling", "saml_sso")


@dataclass
class Run:
    """What one wrk run measured."""

    scenario: str
    flows: int
    flow_errors: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    request_p99_ms: float
    requests: int
    socket_errors: dict[str, int]
    status_errors: int
    client_cpu: float
    server_cpu: float
    machine_cpu: float
    error_kinds: dict[str, int] = field(default_factory=dict)
    captured: list[str] = field(default_factory=list, repr=False)

    @property
    def flows_per_s(self) -> float:
        return self.flows / self.seconds if self.seconds else 0.0

    @property
    def errors(self) -> int:
        return self.flow_errors + sum(self.socket_errors.values())


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as fh:
        values = [int(v) for v in fh.readline().split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def _tree_cpu(pids: list[int]) -> float:
    import psutil

    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


def run_wrk(base: str, scenario: str, lines: list[str], *, duration: float, connections: int,
            extra: tuple[str, ...] = (), until_exhausted: bool = False, server_pids: list[int] | None = None,
            threads: int | None = None, timeout: str = "5s") -> Run:
    """Drive ``scenario`` against ``base``; chained scenarios get one connection per wrk thread."""
    single = scenario in SINGLE
    threads = threads or (2 if single else connections)
    if not single:
        connections = threads
    work = Path(tempfile.mkdtemp(prefix="sesame-wrk-"))
    data = work / "data.txt"
    data.write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")
    out = work / "out.json"
    cmd = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{int(max(1, duration))}s", "--timeout",
           timeout, "-s", str(LUA), base, "--", scenario, str(data) if lines else "-", str(out), str(threads), *extra]
    server_pids = server_pids or []
    cpu0, (busy0, total0) = _tree_cpu(server_pids), machine_busy()
    started = time.perf_counter()
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    interrupted = False
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        if until_exhausted and not interrupted and len(list(work.glob("out.json.done.*"))) >= threads:
            process.send_signal(signal.SIGINT)  # wrk then stops its threads and runs done()
            interrupted = True
        time.sleep(0.05)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    cpu1, (busy1, total1) = _tree_cpu(server_pids), machine_busy()
    stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
    if not out.exists():
        raise RuntimeError(f"wrk wrote no result (exit {process.returncode}): {stderr[-500:]}")
    result = json.loads(out.read_text(encoding="utf-8"))
    for path in work.iterdir():
        path.unlink()
    work.rmdir()
    ncpu = os.cpu_count() or 1
    seconds = result["duration_us"] / 1e6
    req = result["request_latency_us"]
    flow = result["flow_latency_us"] if not single else req
    return Run(
        scenario=scenario, flows=result["flows"], flow_errors=result["flow_errors"], seconds=seconds,
        p50_ms=flow["p50"] / 1000, p95_ms=flow["p95"] / 1000, p99_ms=flow["p99"] / 1000,
        request_p99_ms=req["p99"] / 1000, requests=result["requests"], socket_errors=result["socket_errors"],
        status_errors=result["status_errors"],
        client_cpu=(usage.ru_utime + usage.ru_stime) / (wall * ncpu),
        server_cpu=(cpu1 - cpu0) / (wall * ncpu) if server_pids else 0.0,
        machine_cpu=(busy1 - busy0) / max(1, total1 - total0),
        error_kinds=result.get("error_kinds", {}), captured=result.get("captured", []))


# -- inputs ---------------------------------------------------------------------------------------
def client_ip(index: int) -> str:
    """A distinct client address per patron, as a reverse proxy would pass it (X-Forwarded-For)."""
    return f"10.{(index >> 16) & 255}.{(index >> 8) & 255}.{index & 255}"


def authn_request_query(idp_base: str, sp_entity: str, acs: str, relay: str) -> str:
    """An unsigned AuthnRequest over HTTP-Redirect (query string), as a Shibboleth SP sends it."""
    instant = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    xml = (f'<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
           f'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_{secrets.token_hex(16)}" Version="2.0" '
           f'IssueInstant="{instant}" Destination="{idp_base}/saml/sso" AssertionConsumerServiceURL="{acs}" '
           f'ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST">'
           f'<saml:Issuer>{sp_entity}</saml:Issuer>'
           f'<samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent" AllowCreate="true"/>'
           f'</samlp:AuthnRequest>')
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    deflated = compressor.compress(xml.encode()) + compressor.flush()
    return f"SAMLRequest={quote(base64.b64encode(deflated).decode(), safe='')}&RelayState={quote(relay, safe='')}"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


def basic_auth(client_id: str, secret: str) -> str:
    """RFC 6749 §2.3.1: form-encode both parts, then Basic."""
    pair = f"{quote(client_id, safe='')}:{quote(secret, safe='')}"
    return "Basic " + base64.b64encode(pair.encode()).decode()
