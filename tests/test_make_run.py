"""`make run`'s server script: demo instance, SIP2 emulator, demo mailbox and `broker serve`, on the port it is given."""

import os
import signal
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from fixtures.servers import free_port, wait_for_port

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def running_demo(instance: Path, port: int):
    sip2, smtp = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROKER_")}
    env.update(BROKER_INSTANCE_PATH=str(instance), SIP2_PORT=str(sip2), SMTP_PORT=str(smtp))
    proc = subprocess.Popen(["bash", "scripts/run-demo.sh", "127.0.0.1", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    output: list[str] = []
    try:
        wait_for_port(port, timeout=90)
        deadline = time.monotonic() + 90
        while True:  # the server listens before its workers have imported the app
            try:
                requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
                break
            except requests.RequestException:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.5)
        yield env, output
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
        output.append(out)


@pytest.mark.xdist_group("make_run")
def test_run_demo_serves_health_and_a_sip2_login_on_the_port_it_is_given(tmp_path):
    instance = tmp_path / "instance"
    first, second = free_port(), free_port()
    with running_demo(instance, first) as (env, output):
        base = f"http://127.0.0.1:{first}"
        assert requests.get(f"{base}/healthz", timeout=10).status_code == 200
        ready = requests.get(f"{base}/readyz", timeout=5)
        assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok", "state": "ok"}
        assert requests.get(f"{base}/metrics", timeout=5).status_code == 404  # not on the patrons' port
        assert f"{base}/saml/sso" in requests.get(f"{base}/saml/metadata", timeout=10).text
        check = subprocess.run([str(ROOT / ".venv/bin/broker"), "connectors", "check", "FR-140476101",
                                "29001000000017", "--password", "1234", "--json"],
                               cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert check.returncode == 0, check.stdout + check.stderr
        assert "29001000000017" not in check.stdout
    assert "demo-referent-2026" in output[0] and "29001000000017" in output[0]  # the accounts are printed
    assert (instance / "broker.db").exists()
    secret = (instance / "broker.toml").read_text()

    # started again on another port (and other SIP2 and mail ports): it serves and advertises that one
    with running_demo(instance, second) as (env, _):
        base = f"http://127.0.0.1:{second}"
        metadata = requests.get(f"{base}/saml/metadata", timeout=10).text
        assert f"{base}/saml/sso" in metadata and f":{first}/" not in metadata
        issuer = requests.get(f"{base}/.well-known/openid-configuration", timeout=10).json()["issuer"]
        assert issuer.startswith(base)
        check = subprocess.run([str(ROOT / ".venv/bin/broker"), "connectors", "check", "FR-140476101",
                                "29001000000017", "--password", "1234", "--json"],
                               cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert check.returncode == 0, check.stdout + check.stderr
    assert (instance / "broker.toml").read_text() == secret  # the instance keeps its secret
