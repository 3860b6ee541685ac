"""`broker serve`'s request watchdog: which requests outlived the timeout, and how the worker then leaves.

The real server is in tests/scale/test_watchdog.py; here the watchdog runs on a movable clock.
"""

from __future__ import annotations

import os
import threading

import pytest

from broker.server import WATCHDOG_EXIT, RequestWatchdog, ServeOptions, Watched, command, loggable_path, main
from broker.testing import MovableClock
from fixtures.waiting import until

PATIENCE = 60.0


class Log:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def error(self, message: str, *args) -> None:
        self.errors.append(message % args)


class Worker:
    """What the watchdog acts on: the worker's log, and its taking of new connections."""

    def __init__(self) -> None:
        self.log = Log()
        self.stops = 0

    def stop_taking(self) -> None:
        self.stops += 1


class Request:
    """A request answered by a thread of its own, until ``finish()``."""

    def __init__(self, watchdog: RequestWatchdog, method: str, path: str) -> None:
        self._begun, self._done = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._answer, args=(watchdog, method, path), daemon=True)
        self._thread.start()
        assert self._begun.wait(PATIENCE)

    def _answer(self, watchdog: RequestWatchdog, method: str, path: str) -> None:
        key = watchdog.started(method, path)
        self._begun.set()
        self._done.wait(PATIENCE)
        watchdog.ended(key)

    def finish(self) -> None:
        self._done.set()
        self._thread.join(PATIENCE)




def test_a_request_is_overdue_once_it_ran_longer_than_the_timeout():
    clock = MovableClock(at=1_700_000_000)
    watchdog = RequestWatchdog(30, clock=clock.monotonic)
    request = Request(watchdog, "GET", "/login")
    clock.advance(30)
    assert watchdog.overdue() == {}
    clock.advance(1.5)
    assert [(elapsed, method, path) for elapsed, method, path in watchdog.overdue().values()] == [
        (31.5, "GET", "/login")]
    request.finish()
    assert watchdog.overdue() == {}


def watched(timeout: float, first: tuple[str, str], gap: float, second: tuple[str, str], since: float):
    """A worker whose ``first`` request began ``gap`` s before its ``second``, ``since`` s ago, and its watchdog
    running in a thread (grace 20 s) until it stops the worker: (clock, worker, exits, first, second, thread)."""
    clock = MovableClock(at=1_700_000_000)
    watchdog = RequestWatchdog(timeout, clock=clock.monotonic)
    worker, left = Worker(), []
    hung = Request(watchdog, *first)
    clock.advance(gap)
    other = Request(watchdog, *second)
    clock.advance(since)
    thread = threading.Thread(target=watchdog.watch, daemon=True, kwargs={
        "interval": 0.01, "grace": 20, "leave": left.append, "stop_taking": worker.stop_taking, "logger": worker.log})
    thread.start()
    until(lambda: worker.stops, "the watchdog stopping the worker", within=PATIENCE)
    return clock, worker, left, hung, other, thread


def test_the_worker_stops_taking_requests_and_leaves_once_its_other_requests_are_answered():
    # the first is 31 s old, the other 11 s
    _, worker, left, hung, other, thread = watched(30, ("POST", "/login"), 20, ("GET", "/oidc/authorize"), 11)
    assert worker.stops == 1  # the worker stops taking connections at once
    assert worker.log.errors == [f"WORKER TIMEOUT (pid:{os.getpid()}): POST /login still running "
                                 "after 31.0 s (timeout 30 s); the worker exits and is replaced"]
    assert left == []  # the other request is still being answered, the grace is not over
    other.finish()
    thread.join(PATIENCE)
    assert left == [WATCHDOG_EXIT]
    hung.finish()


def test_the_other_requests_get_the_graceful_timeout_at_most():
    clock, worker, left, hung, slow, thread = watched(5, ("GET", "/cas/login"), 4, ("GET", "/saml/sso"), 2)
    assert left == []
    clock.advance(21)
    thread.join(PATIENCE)
    assert left == [WATCHDOG_EXIT]
    assert len(worker.log.errors) == 1  # the slow one is not reported: it had not outlived the timeout
    hung.finish()
    slow.finish()


@pytest.mark.parametrize(("path", "logged"), [
    ("/login", "/login"),
    ("/staff/invite/Zq3v9x2LkP0aBcDeFgHiJk", "/staff/invite/Zq3v…"),
    ("/oidc/token", "/oidc/token"),
])
def test_a_long_path_segment_is_cut_in_the_log(path, logged):
    assert loggable_path(path) == logged


def test_the_command_passes_every_option_on(monkeypatch):
    options = ServeOptions(bind="127.0.0.1:5999", workers=3, threads=6, keepalive=2, timeout=12, graceful_timeout=7,
                           max_lifetime=600, access_log=False, log_level="warning")
    seen = []
    monkeypatch.setattr("broker.config.load_settings", lambda: "settings")
    monkeypatch.setattr("broker.server.serve", lambda settings, opts: seen.append(opts) or 0)
    assert main(command(options)[3:]) == 0
    assert seen == [options]


@pytest.mark.parametrize(("option", "value"), [("--threads", "0"), ("--workers", "0"), ("--keepalive", "-1")])
def test_serve_refuses_a_layout_it_cannot_run(monkeypatch, option, value):
    from click.testing import CliRunner

    from broker.cli import cli, serving

    monkeypatch.setattr(serving, "_load_settings", lambda: None)
    result = CliRunner().invoke(cli, ["serve", option, value])
    assert result.exit_code == 2
    assert f"{option}: expected at least" in result.output


def test_a_request_is_followed_until_the_server_closes_its_body():
    watchdog = RequestWatchdog(30)
    app = Watched(lambda environ, start_response: iter([b"a", b"b"]), watchdog)
    body = app({"REQUEST_METHOD": "GET", "PATH_INFO": "/cas/login"}, lambda *a: None)
    assert watchdog.others_running(set())  # the body is still being sent
    assert b"".join(body) == b"ab"
    body.close()
    assert not watchdog.others_running(set())


def test_a_request_whose_app_raised_is_no_longer_followed():
    def broken(environ, start_response):
        raise RuntimeError("boom")

    watchdog = RequestWatchdog(30)
    with pytest.raises(RuntimeError):
        Watched(broken, watchdog)({"REQUEST_METHOD": "POST", "PATH_INFO": "/login"}, lambda *a: None)
    assert not watchdog.others_running(set())


def test_a_lifetime_under_a_minute_is_refused():
    with pytest.raises(SystemExit) as exit_:
        main(["--max-lifetime", "30"])
    assert exit_.value.code == 2


def test_a_body_answered_in_full_ends_the_request_at_once():
    watchdog = RequestWatchdog(30)
    body = Watched(lambda environ, start_response: [b"ok"], watchdog)({"REQUEST_METHOD": "GET"}, lambda *a: None)
    assert body == [b"ok"]  # still a list: the server sends it in one piece
    assert not watchdog.others_running(set())
