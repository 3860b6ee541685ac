"""The built wheel, installed into a fresh virtualenv outside any checkout, is a working service."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from fixtures.servers import free_port, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.xdist_group("wheel")  # one worker builds the wheel once for the module


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A virtualenv holding the wheel; its dependencies come from the test run's environment."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
    for name in ("broker", "connectors"):
        shutil.copytree(ROOT / name, source / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                            "-w", str(work / "dist"), str(source)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stdout + built.stderr
    wheel = next((work / "dist").glob("sesame_broker-*.whl"))
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = next((venv / "lib").glob("python3.*/site-packages"))
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-compile",
                    "--target", str(site), str(wheel)], check=True, timeout=300, capture_output=True)
    # the dependencies, not the project: a plain path entry, so the checkout's editable finder is not loaded
    deps = next(p for p in map(Path, sys.path) if p.name == "site-packages" and (p / "flask").is_dir())
    (site / "zz-test-dependencies.pth").write_text(str(deps) + "\n")
    python = venv / "bin" / "python"
    elsewhere = work / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROKER_") and k != "PYTHONPATH"}
    env["BROKER_INSTANCE_PATH"] = str(work / "instance")
    return {"python": python, "site": site, "cwd": elsewhere, "env": env, "instance": work / "instance"}


def broker(installed, *args, **kw):
    return subprocess.run([str(installed["python"]), "-m", "broker.cli", *args], cwd=installed["cwd"],
                          env={**installed["env"], **kw.pop("env", {})}, capture_output=True, text=True,
                          timeout=kw.pop("timeout", 120), **kw)


def test_the_package_is_imported_from_the_wheel_not_the_checkout(installed):
    where = subprocess.run([str(installed["python"]), "-c", "import broker.wsgi as w, broker; print(broker.__file__)"],
                           cwd=installed["cwd"], env={**installed["env"], "BROKER_SECRET_KEY": "s" * 40},
                           capture_output=True, text=True, timeout=120)
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(installed["site"])


def test_bad_settings_stop_serve_with_one_line(installed):
    short = broker(installed, "serve", env={"BROKER_SECRET_KEY": "short"})
    assert short.returncode == 2 and short.stderr.strip().count("\n") == 0 and "secret_key" in short.stderr
    taken = free_port()
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", taken))
        holder.listen()
        busy = broker(installed, "serve", "--bind", f"127.0.0.1:{free_port()}",
                      env={"BROKER_SECRET_KEY": "s" * 40, "BROKER_METRICS_BIND": f"127.0.0.1:{taken}"})
        assert busy.returncode == 2 and "metrics_bind" in busy.stderr and "in use" in busy.stderr
        assert "Traceback" not in busy.stderr
    assert broker(installed, "serve", "--bind", "nowhere").returncode == 2
    down = broker(installed, "serve", "--bind", f"127.0.0.1:{free_port()}",
                  env={"BROKER_SECRET_KEY": "s" * 40, "BROKER_SMTP_HOST": "127.0.0.1",
                       "BROKER_SMTP_PORT": str(free_port())})  # nothing listens there
    assert down.returncode == 2 and down.stderr.startswith("error: smtp_host") and "Traceback" not in down.stderr
    assert down.stderr.strip().count("\n") == 0


def test_the_wheel_serves_the_demo_outside_the_checkout(installed):
    loaded = broker(installed, "demo", "--json", env={"BROKER_SECRET_KEY": "s" * 40, "BROKER_DEMO": "true"})
    # no config file yet and no secret: `broker demo --serve` writes one; plain `broker demo` needs a secret
    assert loaded.returncode == 0, loaded.stderr
    assert '"loaded": true' in loaded.stdout
    port, metrics = free_port(), free_port()
    env = {**installed["env"], "BROKER_SECRET_KEY": "s" * 40, "BROKER_METRICS_BIND": f"127.0.0.1:{metrics}"}
    proc = subprocess.Popen([str(installed["python"]), "-m", "broker.cli", "serve", "--bind", f"127.0.0.1:{port}",
                             "--workers", "1"], cwd=installed["cwd"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        wait_for_port(port, timeout=90)
        deadline = time.monotonic() + 90
        while True:
            try:
                health = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
                break
            except requests.RequestException:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.3)
        assert health.json() == {"status": "ok"}
        ready = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=10)
        assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok", "state": "ok"}
        assert "Camille" not in requests.get(f"http://127.0.0.1:{port}/", timeout=10).text
        assert requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).status_code == 404
        scraped = requests.get(f"http://127.0.0.1:{metrics}/metrics", timeout=10)
        assert scraped.status_code == 200 and "broker_http_requests_total" in scraped.text
        assert (installed["instance"] / "broker.db").is_file()
    finally:
        proc.terminate()
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    assert "Traceback" not in out, out[-3000:]
