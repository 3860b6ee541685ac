"""A real headless Chromium against a live broker: fixtures shared by every browser test (a pytest plugin).

- ``live_server``: the demo network served by werkzeug in a thread on a free port
  (``.url``, ``.app``, ``.runtime``, ``.smtp``); ``serve_app`` serves any app the same way.
- ``browser`` (one per session) and ``page`` (a fresh context per test, phone-sized, French).
- ``axe_check(page, label)``: runs axe-core in the page and fails on serious or critical
  violations. axe-core comes from npm, installed once into tests/artifacts/axe/ (git-ignored);
  when npm cannot fetch it the accessibility checks are skipped with the reason.
- ``screenshot(page, name)``: saves tests/artifacts/<test>-<name>.png.

Debian's chromium is used (``/usr/bin/chromium``): Playwright downloads no browser.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
AXE_DIR = ARTIFACTS / "axe"
AXE_JS = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"


@dataclass
class LiveServer:
    url: str
    app: object
    smtp: object

    @property
    def runtime(self):
        return self.app.extensions["broker"]


@contextmanager
def _serving(app):
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-broker", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()


@pytest.fixture
def serve_app():
    """Serve any Flask app on a free port for the test: ``url = serve_app(app)``."""
    stack = []

    def serve(app) -> str:
        ctx = _serving(app)
        stack.append(ctx)
        return ctx.__enter__()

    yield serve
    for ctx in reversed(stack):
        ctx.__exit__(None, None, None)


@pytest.fixture
def live_server(make_app, smtp_sink, offline_demo_template, tmp_path, serve_app) -> LiveServer:
    """The demo network (staff accounts included) served over real HTTP, with the SMTP sink."""
    copy = tmp_path / "live.db"
    shutil.copy(offline_demo_template, copy)
    app = make_app(database_url=f"sqlite:///{copy}", plugins_load_entrypoints=False,
                   **smtp_sink.settings)
    app.config["TESTING"] = False
    app.smtp = smtp_sink
    return LiveServer(serve_app(app), app, smtp_sink)


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing (Debian package chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def watch_csp(page) -> list[str]:
    """Chromium's reports of Content-Security-Policy violations on ``page`` (a list that fills as they come)."""
    violations: list[str] = []

    def seen(message) -> None:
        if "Content Security Policy" in message.text:
            violations.append(f"{message.text} (on {page.url})")

    page.on("console", seen)
    return violations


@pytest.fixture
def page(browser):
    """A fresh browser context per test: a phone-sized screen, French first.

    A Content-Security-Policy violation reported by Chromium during the test fails it.
    """
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="fr-FR",
                                  extra_http_headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    context.set_default_timeout(10_000)
    page = context.new_page()
    violations = page.csp_violations = watch_csp(page)
    yield page
    context.close()
    if violations:
        pytest.fail("Content-Security-Policy violations:\n" + "\n".join(violations[:20]), pytrace=False)


@pytest.fixture
def screenshot(request):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    test = request.node.name.replace("/", "_")

    def take(page, name: str) -> Path:
        path = ARTIFACTS / f"{test}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def _install_axe() -> str | None:
    """Fetch axe-core with npm into a temporary folder, then move it in place; the reason on failure."""
    npm = shutil.which("npm")
    if npm is None:
        return "npm is not installed"
    AXE_DIR.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="axe-", dir=AXE_DIR.parent))
    try:
        done = subprocess.run([npm, "install", "--prefix", str(staging), "--no-audit", "--no-fund",
                               "--no-save", "--silent", "axe-core@4"],
                              capture_output=True, text=True, timeout=180)
        if done.returncode != 0 or not (staging / "node_modules" / "axe-core" / "axe.min.js").exists():
            return f"npm could not install axe-core: {(done.stderr or done.stdout).strip()[:300]}"
        if not AXE_JS.exists():
            shutil.rmtree(AXE_DIR, ignore_errors=True)
            staging.rename(AXE_DIR)
        return None
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"npm could not install axe-core: {exc}"
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE_JS.exists():
        reason = _install_axe()
        if reason:
            pytest.skip(f"accessibility checks skipped: {reason}")
    return AXE_JS.read_text(encoding="utf-8")


@pytest.fixture
def axe_check(axe_source):
    """``axe_check(page, label)``: no serious or critical WCAG 2.x A/AA violation on the current page."""

    def check(page, label: str) -> list[dict]:
        # through the DevTools protocol: the pages' Content-Security-Policy refuses injected inline scripts
        cdp = page.context.new_cdp_session(page)
        try:
            cdp.send("Runtime.evaluate", {"expression": axe_source})
        finally:
            cdp.detach()
        result = page.evaluate("""async () => {
            const r = await axe.run(document, {runOnly: {type: 'tag',
                values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']},
                resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                           nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}));
        }""")
        bad = [v for v in result if v["impact"] in ("serious", "critical")]
        assert not bad, f"accessibility violations on {label} ({page.url}):\n" + "\n".join(
            f"- {v['impact']} {v['id']}: {v['help']} at {v['nodes']}" for v in bad)
        return result

    return check
