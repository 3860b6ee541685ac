"""The demo's mailbox: an SMTP server on loopback that writes each message, decoded, to a file.

``python -m broker.demo_mailbox --port 8025 --file instance/mail.log`` (``broker demo --serve``
starts it). It needs the ``demo`` extra (aiosmtpd). Never a relay: it delivers nowhere.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path


def render(raw: bytes) -> str:
    """A message as a person reads it: the main headers, then the text body decoded."""
    message = message_from_bytes(raw, policy=policy.default)
    lines = [f"{name}: {message[name]}" for name in ("Date", "From", "To", "Subject") if message[name]]
    body = message.get_body(preferencelist=("plain", "html"))
    text = body.get_content() if body is not None else ""
    return "\n".join(lines) + "\n\n" + text.rstrip() + "\n"


class FileMailbox:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        entry = f"===== received {stamp} =====\n{render(envelope.original_content or envelope.content)}\n"
        with self._lock, open(self.path, "a", encoding="utf-8") as fh:
            fh.write(entry)
        return "250 Message accepted for delivery"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--file", required=True, type=Path)
    args = parser.parse_args(argv)
    try:
        from aiosmtpd.controller import Controller
    except ImportError:
        print("error: the demo mailbox needs the demo extra: pip install 'sesame-broker[demo]'", file=sys.stderr)
        return 2
    args.file.parent.mkdir(parents=True, exist_ok=True)
    controller = Controller(FileMailbox(args.file), hostname=args.host, port=args.port)
    controller.start()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
