"""A supplier's logout endpoint in a test: an HTTP server that records the POSTs it receives."""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
import requests

from support import free_port


class Receiver:
    """A relying party's back-channel logout endpoint: records what it is POSTed and answers ``status``."""

    def __init__(self, status: int = 200) -> None:
        self.received: list[dict[str, list[str]]] = []
        self.status = status
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                receiver.received.append({"content_type": [self.headers.get("Content-Type", "")], "path": [self.path],
                                          **parse_qs(body)})
                self.send_response(receiver.status)
                self.send_header("Cache-Control", "no-store")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/backchannel"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver_factory():
    made: list[Receiver] = []

    def make(status: int = 200) -> Receiver:
        made.append(Receiver(status))
        return made[-1]

    yield make
    for receiver in made:
        receiver.close()


def log_out(browser) -> requests.Response:
    """Log out through the portal's /logout form; the page shown afterwards."""
    page = browser.get(browser.live.url("/logout"))
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    done = browser.http.post(browser.live.url("/logout"), data={"csrf_token": token}, allow_redirects=False,
                             timeout=10)
    assert done.status_code == 302
    return browser.follow(browser.live.url("/logout"))
