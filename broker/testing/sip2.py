"""Run the SIP2 emulator inside a test: ``with running_emulator("patrons.csv") as sigb: ...``; or play a
misbehaving SIGB of your own, reading what the connector sends with :func:`frames`."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from connectors.sip2.emulator import RunningEmulator, serve_in_thread


@contextmanager
def running_emulator(
    patrons_csv: str | Path,
    *,
    flavour: str = "koha",
    login: str = "sesame",
    login_password: str = "sesame",
    **options: Any,
) -> Iterator[RunningEmulator]:
    """Start a SIP2 emulator on a free loopback port in a background thread; stop it on exit.

    ``options`` go to :func:`connectors.sip2.emulator.serve_in_thread`:
    ``delay_ms``, ``fail_rate``, ``encoding``, ``ssl_context``, ``seed``…
    """
    emulator = serve_in_thread(
        patrons_csv, login=login, login_password=login_password, flavour=flavour, **options  # type: ignore[arg-type]  # options are serve_in_thread's keywords, of mixed types
    )
    try:
        yield emulator
    finally:
        emulator.stop()


def frames(conn: socket.socket) -> Iterator[bytes]:
    """The SIP2 messages a client sends on ``conn``, each without its closing carriage return, until it hangs up."""
    buffer = b""
    while True:
        try:
            data = conn.recv(4096)
        except OSError:
            return
        if not data:
            return
        buffer += data
        while b"\r" in buffer:
            frame, _, buffer = buffer.partition(b"\r")
            yield frame


def sip2_settings(emulator: RunningEmulator, **overrides: Any) -> dict[str, Any]:
    """Settings for the SIP2 connector that reach ``emulator`` (as a library's configuration would)."""
    settings: dict[str, Any] = {
        "host": emulator.host,
        "port": emulator.port,
        "login": emulator.emulator.login,
        "password": emulator.emulator.login_password,
        "institution": emulator.emulator.sigb.institution,
        "sigb": emulator.emulator.sigb.flavour,
        "encoding": emulator.emulator.encoding,
        "timeout": 2.0,
    }
    settings.update(overrides)
    return settings
