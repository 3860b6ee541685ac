"""A SIP2 server emulator: a real concurrent TCP server answering like Koha's (or Evergreen's) SIP server.

Used by the demo, by the tests and by connector authors. Each connection must
log in (93) first, as on a real SIGB; frames are checked (a wrong checksum or
a malformed frame gets a 96 resend request, and the connection stays open).
``delay_ms`` slows every answer; ``fail_rate`` drops that share of requests
by closing the connection without answering.
"""

from __future__ import annotations

import asyncio
import random
import signal
import socket
import ssl
import threading
from dataclasses import dataclass, replace
from pathlib import Path

import click

from . import fields as F
from .codec import (
    MAX_FIELD_LENGTH,
    FrameBuffer,
    Message,
    Sip2ChecksumError,
    Sip2CodecError,
    decode_frame,
    encode,
)
from .emulator_answers import EmulatedSigb, Flavour
from .patrons_file import PatronFileError, load_patrons

_RESEND_CHECKSUMMED = b"96AZFEF6"


@dataclass
class EmulatorStats:
    """Counters the tests read to see what the emulator went through."""

    connections: int = 0
    logins: int = 0
    failed_logins: int = 0
    requests: int = 0
    resend_requests: int = 0
    dropped: int = 0


class Sip2Emulator:
    """The server: one instance serves one emulated SIGB on one port."""

    def __init__(
        self,
        sigb: EmulatedSigb,
        *,
        login: str,
        login_password: str,
        delay_ms: int = 0,
        fail_rate: float = 0.0,
        encoding: str = "utf-8",
        ssl_context: ssl.SSLContext | None = None,
        seed: int | None = None,
    ) -> None:
        if not 0 <= fail_rate <= 1:
            raise ValueError("fail_rate must be between 0 and 1")
        "".encode(encoding)  # fail early on an unknown encoding name
        self.sigb = sigb
        self.login = login
        self.login_password = login_password
        self.delay = max(delay_ms, 0) / 1000
        self.fail_rate = fail_rate
        self.encoding = encoding
        self.ssl_context = ssl_context
        self.random = random.Random(seed)
        self.stats = EmulatorStats()
        self.sessions: set[_Session] = set()
        self.server: asyncio.base_events.Server | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        """Start listening; return the address actually bound (port 0 picks a free one)."""
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(
            lambda: _Session(self), host, port, ssl=self.ssl_context, reuse_address=True
        )
        bound = self.server.sockets[0].getsockname()
        return bound[0], bound[1]

    def drop_connections(self) -> None:
        """Close every client connection, as a SIGB restart or a network cut would."""
        for session in list(self.sessions):
            session.transport.abort()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
        self.drop_connections()
        if self.server is not None:
            await self.server.wait_closed()


class _Session(asyncio.Protocol):
    """One client connection: its login state and last answer (for 97 resend)."""

    def __init__(self, emulator: Sip2Emulator) -> None:
        self.emulator = emulator
        self.frames = FrameBuffer()
        self.logged_in = False
        self.last: Message | None = None
        self.queue: asyncio.Queue[tuple[bytes, bytes]] | None = None
        self.worker: asyncio.Task[None] | None = None
        self.transport: asyncio.Transport = None  # type: ignore[assignment]  # set by connection_made before any use

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # asyncio's stream servers hand a Transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        self.emulator.sessions.add(self)
        self.emulator.stats.connections += 1

    def connection_lost(self, exc: Exception | None) -> None:
        self.emulator.sessions.discard(self)
        if self.worker is not None:
            self.worker.cancel()

    def data_received(self, data: bytes) -> None:
        for raw, terminator in self.frames.feed(data):
            if self.transport.is_closing():
                return
            if self.emulator.delay:
                if self.queue is None:
                    self.queue = asyncio.Queue()
                    self.worker = asyncio.get_running_loop().create_task(self._answer_later())
                self.queue.put_nowait((raw, terminator))
            else:
                self.answer(raw, terminator)

    async def _answer_later(self) -> None:
        assert self.queue is not None
        while True:
            raw, terminator = await self.queue.get()
            await asyncio.sleep(self.emulator.delay)
            if self.transport.is_closing():
                return
            self.answer(raw, terminator)

    def answer(self, raw: bytes, terminator: bytes) -> None:
        emulator = self.emulator
        stats = emulator.stats
        stats.requests += 1
        terminator = terminator or b"\r"
        if emulator.fail_rate and emulator.random.random() < emulator.fail_rate:
            stats.dropped += 1
            self.transport.abort()
            return
        try:
            message, checksummed = decode_frame(raw, encoding=emulator.encoding)
        except Sip2ChecksumError:
            stats.resend_requests += 1
            self.transport.write(_RESEND_CHECKSUMMED + terminator)
            return
        except Sip2CodecError:
            # Too long, garbage, wrong bytes for the encoding: ask for the frame again.
            stats.resend_requests += 1
            self.transport.write(b"96" + terminator)
            return
        reply = self._reply(message)
        if reply is None:
            return
        self.last = reply
        self._write(replace(reply, sequence=message.sequence), checksummed, terminator)

    def _reply(self, message: Message) -> Message | None:
        emulator, sigb = self.emulator, self.emulator.sigb
        code = message.code
        if code == "97":
            return self.last or Message("96")
        if code == "93":
            ok = (
                message.fixed == "00"
                and message.get(F.LOGIN_USER) == emulator.login
                and message.get(F.LOGIN_PASSWORD) == emulator.login_password
            )
            self.logged_in = ok
            if ok:
                emulator.stats.logins += 1
            else:
                emulator.stats.failed_logins += 1
            return Message("94", "1" if ok else "0")
        if not self.logged_in:
            # Koha's raw transport serves nothing before a successful login.
            self.transport.close()
            return None
        if code == "99":
            return sigb.status(message)
        if code == "63":
            return sigb.patron_information(message)
        if code == "23":
            return sigb.patron_status(message)
        if code == "35":
            return sigb.end_session(message)
        return Message("96")

    def _write(self, reply: Message, checksummed: bool, terminator: bytes) -> None:
        encoding = self.emulator.encoding
        term = terminator.decode("ascii")
        try:
            data = encode(reply, encoding=encoding, error_detection=checksummed, terminator=term, errors="replace")
        except Sip2CodecError:
            # An echoed value too long or with forbidden characters: answer with it cut, as a SIGB would.
            fields = tuple(
                (fid, value.replace("|", " ")[:MAX_FIELD_LENGTH]) for fid, value in reply.fields
            )
            data = encode(
                replace(reply, fields=fields),
                encoding=encoding,
                error_detection=checksummed,
                terminator=term,
                errors="replace",
            )
        self.transport.write(data)


class RunningEmulator:
    """An emulator serving from a background thread; ``stop()`` ends it."""

    def __init__(self, emulator: Sip2Emulator, host: str = "127.0.0.1", port: int = 0) -> None:
        self.emulator = emulator
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop = asyncio.new_event_loop()
        self.host, self.port = host, port
        self._thread = threading.Thread(target=self._run, name=f"sip2-emulator-{port}", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise self._error

    @property
    def stats(self) -> EmulatorStats:
        return self.emulator.stats

    def _run(self) -> None:
        loop = self._loop
        asyncio.set_event_loop(loop)
        try:
            self.host, self.port = loop.run_until_complete(self.emulator.start(self.host, self.port))
        except BaseException as exc:  # reported to the starting thread
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self.emulator.stop())
            loop.close()

    def drop_connections(self) -> None:
        """Close every client connection now (thread-safe)."""
        done = threading.Event()

        def drop() -> None:
            self.emulator.drop_connections()
            done.set()

        self._loop.call_soon_threadsafe(drop)
        done.wait(5)

    def stop(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)


def serve_in_thread(
    patrons_file: str | Path,
    *,
    login: str = "sesame",
    login_password: str = "sesame",
    flavour: Flavour = "koha",
    host: str = "127.0.0.1",
    port: int = 0,
    delay_ms: int = 0,
    fail_rate: float = 0.0,
    encoding: str = "utf-8",
    institution: str = "SIP2",
    koha_expiry_field: str = F.KOHA_EXPIRY,
    ssl_context: ssl.SSLContext | None = None,
    seed: int | None = None,
) -> RunningEmulator:
    """Start an emulator on a background thread (port 0: a free port); return its handle."""
    sigb = EmulatedSigb(load_patrons(patrons_file), flavour, institution, koha_expiry_field)
    emulator = Sip2Emulator(
        sigb,
        login=login,
        login_password=login_password,
        delay_ms=delay_ms,
        fail_rate=fail_rate,
        encoding=encoding,
        ssl_context=ssl_context,
        seed=seed,
    )
    return RunningEmulator(emulator, host, port)


async def _serve(emulator: Sip2Emulator, host: str, port: int, patrons: int) -> None:
    bound_host, bound_port = await emulator.start(host, port)
    click.echo(
        f"Émulateur SIP2 ({emulator.sigb.flavour}) à l'écoute sur {bound_host}:{bound_port}"
        f" — {patrons} usager(s). Ctrl-C pour arrêter.",
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
    await stop.wait()
    await emulator.stop()


@click.command("sip2-emulator")
@click.option("--host", default="127.0.0.1", show_default=True, help="Adresse d'écoute.")
@click.option("--port", type=click.IntRange(0, 65535), default=6001, show_default=True, help="Port (0 : un port libre).")
@click.option("--patrons", "patrons_file", required=True, metavar="FILE.csv",
              help="Usagers : card,password,name,email,birth_date,category,expires,blocked.")
@click.option("--login", required=True, help="Compte SIP2 attendu dans le login 93 (CN).")
@click.option("--login-password", required=True, help="Mot de passe de ce compte (CO).")
@click.option("--flavour", type=click.Choice(["koha", "evergreen"]), default="koha", show_default=True,
              help="Répondre comme le serveur SIP de Koha ou d'Evergreen.")
@click.option("--delay-ms", type=click.IntRange(0, 600_000), default=0, show_default=True,
              help="Retard ajouté à chaque réponse.")
@click.option("--fail-rate", type=click.FloatRange(0.0, 1.0), default=0.0, show_default=True,
              help="Part des requêtes dont la connexion est coupée sans réponse.")
@click.option("--encoding", type=click.Choice(["utf-8", "cp850", "latin-1"]), default="utf-8", show_default=True,
              help="Encodage des messages.")
def sip2_emulator_command(
    host: str,
    port: int,
    patrons_file: str,
    login: str,
    login_password: str,
    flavour: Flavour,
    delay_ms: int,
    fail_rate: float,
    encoding: str,
) -> None:
    """Émulateur de serveur SIP2 (comme Koha ou Evergreen) pour la démo et les tests."""
    try:
        patrons = load_patrons(patrons_file)
    except PatronFileError as exc:
        click.echo(f"Erreur : {exc}", err=True)
        raise SystemExit(2) from None
    emulator = Sip2Emulator(
        EmulatedSigb(patrons, flavour),
        login=login,
        login_password=login_password,
        delay_ms=delay_ms,
        fail_rate=fail_rate,
        encoding=encoding,
    )
    try:
        _run_in_own_loop(_serve(emulator, host, port, len(patrons)))
    except OSError as exc:
        click.echo(f"Erreur : impossible d'écouter sur {host}:{port} ({exc.strerror or exc})", err=True)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        pass


def _run_in_own_loop(coroutine) -> None:
    """asyncio.run(), or in a fresh thread when this thread already runs a loop (an embedding host)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(coroutine)
        return
    outcome: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(coroutine)
        except BaseException as exc:  # handed back to the caller's thread
            outcome.append(exc)

    thread = threading.Thread(target=target, name="sip2-emulator-cli")
    thread.start()
    thread.join()
    if outcome:
        raise outcome[0]


if __name__ == "__main__":
    sip2_emulator_command()
