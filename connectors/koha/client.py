"""HTTP plumbing for Koha's REST API: deadlines, authentication, reading answers safely.

Every request runs in a helper thread and the caller waits at most until its
deadline: requests' own timeouts bound each socket read, not a whole exchange
(a server dripping bytes, or a stuck DNS lookup, would hold the caller), so
the helper is what makes the deadline hard. At most ``pool_size`` requests of
one library are in flight: a dead Koha ties up that many threads, no more,
and never another library's.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from broker import __version__, connector_kit
from broker.clock import SYSTEM, Clock
from broker.domain.connectors import ConnectorProtocolError, ConnectorUnavailable

from .settings import KohaSettings

_RAW_LIMIT = 500
_ERRNO = re.compile(r"\[Errno -?\d+\] [^'\")]+")
#: renew an OAuth2 token this long before Koha says it expires
_TOKEN_MARGIN = 30.0


class Deadline(connector_kit.Deadline):
    """The time left for one call to the connector."""

    late = "Koha did not answer in time"


@dataclass(frozen=True, slots=True)
class Answer:
    """An HTTP answer from Koha, body read in full."""

    status: int
    content_type: str
    body: bytes
    location: str = ""

    @property
    def raw(self) -> str:
        """The start of the body, for error reports."""
        return self.body[:_RAW_LIMIT].decode("utf-8", "replace")

    def json(self) -> Any:
        """The body as JSON, or a protocol error saying what it was instead."""
        if "json" not in self.content_type.lower():
            kind = self.content_type.split(";")[0].strip() or "no content type"
            raise ConnectorProtocolError(f"Koha answered {kind} (HTTP {self.status}) instead of JSON", raw=self.raw)
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ConnectorProtocolError(f"Koha's answer (HTTP {self.status}) is not valid JSON",
                                         raw=self.raw) from exc

    def json_of(self, request: str, kind: type, wrong_kind: str) -> Any:
        """The JSON body of a 200 answer to ``request`` ("GET /patrons"), of type ``kind``; a protocol error
        otherwise (``wrong_kind`` says what came instead of ``kind``)."""
        if self.status != 200:
            raise ConnectorProtocolError(f"unexpected answer to {request}: HTTP {self.status}", raw=self.raw)
        data = self.json()
        if not isinstance(data, kind):
            raise ConnectorProtocolError(wrong_kind, raw=self.raw)
        return data

    def error_text(self) -> str:
        """Koha's ``error`` field when the body is a Koha error object, else ''."""
        try:
            data = json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            return ""
        return data.get("error", "") if isinstance(data, dict) and isinstance(data.get("error"), str) else ""


def _reason(exc: BaseException) -> str:
    """What went wrong on the network, without the URL (it may hold a card number)."""
    text = str(exc)
    found = _ERRNO.search(text)
    if found:
        return found.group(0).strip()
    if "timed out" in text.lower():
        return "timed out"
    if "RemoteDisconnected" in text or "without response" in text:
        return "Koha closed the connection without answering"
    if "Connection reset" in text:
        return "connection reset by Koha"
    return type(exc).__name__


class KohaHttp:
    """Authenticated, deadline-bound requests to one Koha. Thread-safe."""

    def __init__(self, settings: KohaSettings, *, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock: Clock = clock or SYSTEM  # the access token's age (request deadlines stay on the real clock)
        self._session = requests.Session()
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=settings.pool_size, max_retries=0)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._session.headers.update({"Accept": "application/json", "User-Agent": f"Sesame/{__version__}"})
        self._session.trust_env = False  # no proxy or netrc picked up from the environment by surprise
        self._slots = threading.BoundedSemaphore(settings.pool_size)
        self._token: tuple[str, float] | None = None
        self._token_lock = threading.Lock()
        self.tokens_fetched = 0

    def close(self) -> None:
        self._session.close()

    # -- API requests ----------------------------------------------------------

    def call(self, method: str, path: str, deadline: Deadline, *, body: dict[str, Any] | None = None,
             params: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> Answer:
        """An authenticated API request; on 401 an OAuth2 token is renewed once."""
        for attempt in (1, 2):
            auth_headers, auth = self._credentials(deadline)
            answer = self.send(method, f"{self.settings.api}{path}", deadline, json_body=body,
                               params=params, headers={**(headers or {}), **auth_headers}, auth=auth)
            if answer.status == 401 and self.settings.auth == "oauth2" and attempt == 1:
                self._forget_token()
                continue
            if answer.status == 401:
                raise ConnectorUnavailable(f"Koha refused Sésame's API credentials ({self.settings.auth})")
            if answer.status == 403:
                raise ConnectorUnavailable(f"Koha's API account may not call {method} {path.split('?')[0]}"
                                           " (it needs the 'borrowers' permission)")
            return answer
        raise AssertionError("unreachable")

    def send(self, method: str, url: str, deadline: Deadline, **kwargs: Any) -> Answer:
        """One HTTP exchange, abandoned when the deadline passes."""
        if not self._slots.acquire(timeout=deadline.remaining()):
            raise ConnectorUnavailable(f"all {self.settings.pool_size} requests to Koha are still waiting")
        outcome: dict[str, Any] = {}
        finished = threading.Event()

        def run() -> None:
            try:
                outcome["answer"] = self._exchange(method, url, deadline, **kwargs)
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
                outcome["error"] = exc
            finally:
                self._slots.release()
                finished.set()

        try:
            remaining = deadline.remaining()
        except ConnectorUnavailable:
            self._slots.release()
            raise
        # Daemon threads: a request stuck on a dead Koha never delays the process's exit.
        threading.Thread(target=run, name="koha-http", daemon=True).start()
        if not finished.wait(remaining):
            raise ConnectorUnavailable("Koha did not answer in time")
        if "error" in outcome:
            raise outcome["error"]
        return outcome["answer"]

    def _exchange(self, method: str, url: str, deadline: Deadline, *, json_body: Any = None,
                  params: Any = None, headers: Any = None, auth: Any = None, data: Any = None) -> Answer:
        limit = self.settings.max_response_bytes
        try:
            timeout = deadline.remaining()
            response = self._session.request(method, url, json=json_body, params=params, data=data,
                                             headers=headers, auth=auth, timeout=(timeout, timeout),
                                             stream=True, verify=self.settings.verify, allow_redirects=False)
            try:
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_content(16384):
                    size += len(chunk)
                    if size > limit:
                        raise ConnectorProtocolError(f"Koha's answer is larger than {limit} bytes",
                                                     raw=b"".join(chunks)[:_RAW_LIMIT].decode("utf-8", "replace"))
                    chunks.append(chunk)
                    deadline.remaining()  # the caller has given up: stop reading
            finally:
                response.close()
        except requests.exceptions.SSLError as exc:
            raise ConnectorUnavailable(f"TLS error with Koha (certificate? see ca_file): {_reason(exc)}") from exc
        except requests.exceptions.Timeout as exc:
            raise ConnectorUnavailable("Koha did not answer in time") from exc
        except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError) as exc:
            raise ConnectorProtocolError("Koha's answer was cut short or is not valid HTTP",
                                         raw=_reason(exc)) from exc
        except requests.exceptions.ConnectionError as exc:
            if _reason(exc) == "timed out":
                raise ConnectorUnavailable("Koha did not answer in time") from exc
            raise ConnectorUnavailable(f"cannot reach Koha: {_reason(exc)}") from exc
        except requests.exceptions.RequestException as exc:
            raise ConnectorProtocolError(f"unusable answer from Koha: {_reason(exc)}", raw=_reason(exc)) from exc
        answer = Answer(response.status_code, response.headers.get("Content-Type", ""), b"".join(chunks),
                        response.headers.get("Location", ""))
        if 300 <= answer.status < 400:
            raise ConnectorProtocolError(
                f"Koha redirected (HTTP {answer.status}) to {answer.location or '?'}: check base_url",
                raw=answer.raw)
        if answer.status >= 500:
            detail = answer.error_text() or f"HTTP {answer.status}"
            raise ConnectorUnavailable(f"Koha failed: {detail}")
        return answer

    # -- credentials -----------------------------------------------------------

    def _credentials(self, deadline: Deadline) -> tuple[dict[str, str], tuple[str, str] | None]:
        s = self.settings
        if s.auth == "basic":
            assert s.username and s.password
            return {}, (s.username, s.password.get_secret_value())
        return {"Authorization": f"Bearer {self._bearer(deadline)}"}, None

    def _forget_token(self) -> None:
        with self._token_lock:
            self._token = None

    def _bearer(self, deadline: Deadline) -> str:
        """A valid OAuth2 access token, fetched with client credentials when none is cached."""
        # Only one thread fetches a token; the others wait for it, within their own deadline.
        if not self._token_lock.acquire(timeout=deadline.remaining()):
            raise ConnectorUnavailable("Koha did not answer in time (OAuth2 token)")
        try:
            if self._token and self._token[1] > self.clock.monotonic():
                return self._token[0]
            s = self.settings
            assert s.client_id and s.client_secret
            answer = self.send("POST", f"{s.api}/oauth/token", deadline, data={
                "grant_type": "client_credentials", "client_id": s.client_id,
                "client_secret": s.client_secret.get_secret_value()})
            if answer.status in (400, 401, 403):
                detail = answer.error_text() or f"HTTP {answer.status}"
                raise ConnectorUnavailable(f"Koha refused the OAuth2 client credentials: {detail}")
            data = answer.json()
            token = data.get("access_token") if isinstance(data, dict) else None
            lifetime = data.get("expires_in", 3600) if isinstance(data, dict) else None
            if answer.status != 200 or not isinstance(token, str) or not token \
                    or not isinstance(lifetime, (int, float)) or isinstance(lifetime, bool):
                raise ConnectorProtocolError("Koha's OAuth2 token answer is not usable", raw=answer.raw)
            margin = min(_TOKEN_MARGIN, lifetime / 2)
            self._token = (token, self.clock.monotonic() + lifetime - margin)
            self.tokens_fetched += 1
            return token
        finally:
            self._token_lock.release()
