"""`make run`'s server script: demo instance, SIP2 emulator, SMTP sink and gunicorn, answering /healthz and /readyz."""

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

from support import free_port, wait_for_port

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.xdist_group("make_run")
def test_run_demo_serves_health_and_a_sip2_login(tmp_path):
    port, sip2, smtp = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROKER_")}
    env.update(BROKER_INSTANCE_PATH=str(tmp_path / "instance"), SIP2_PORT=str(sip2), SMTP_PORT=str(smtp))
    proc = subprocess.Popen(["bash", "scripts/run-demo.sh", "127.0.0.1", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        wait_for_port(port, timeout=90)
        deadline = time.monotonic() + 90
        while True:  # gunicorn listens before its workers have imported the app
            try:
                health = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
                break
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        assert health.status_code == 200
        ready = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
        assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok", "state": "ok"}
        check = subprocess.run([str(ROOT / ".venv/bin/broker"), "connectors", "check", "FR-140476101",
                                "29001000000017", "--password", "1234", "--json"],
                               cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert check.returncode == 0, check.stdout + check.stderr
        assert "29001000000017" not in check.stdout
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
    assert "demo-referent-2026" in out and "29001000000017" in out  # the accounts are printed
    assert (tmp_path / "instance" / "broker.db").exists()
