"""The SUSHI client: one GET to a COUNTER_SUSHI5 server, its faults and COUNTER exceptions as errors.

Every problem becomes a :class:`SushiProblem` whose ``kind`` says what the
harvest does about it (the code of practice, appendix D):

- ``no_usage`` (3030): the month is recorded with zero usage;
- ``pending`` (3031 usage not ready, 3032 usage no longer available, 3040 partial data): retried later;
- ``backoff`` (1010 busy, 1011 queued, 1020 too many requests): nothing more asked of this server for a while;
- ``credentials`` (2000, 2010, 2011, 2020): the supplier's harvest stops until an admin fixes them;
- ``unsupported`` (3000 report not supported, 3010 report version not supported): that report is skipped for
  the rest of the run;
- ``fault``: the server is down, slow, answers HTML, a truncated or oversized body, or an error status;
- ``rejected``: the report does not meet the COUNTER rules (see :mod:`.reports`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import requests

#: largest body read from a SUSHI server (a month's platform report is a few kilobytes)
MAX_BYTES = 8 * 1024 * 1024
TIMEOUT = (5.0, 60.0)
#: a title or item report lists every title or item used in the month: larger, and slower to produce
ITEM_MAX_BYTES = 48 * 1024 * 1024
ITEM_TIMEOUT = (5.0, 300.0)

KINDS = {3000: "unsupported", 3010: "unsupported", 3030: "no_usage", 3031: "pending", 3032: "pending", 3040: "pending",
         1010: "backoff", 1011: "backoff", 1020: "backoff",
         2000: "credentials", 2010: "credentials", 2011: "credentials", 2020: "credentials"}


class SushiProblem(Exception):
    def __init__(self, kind: str, message: str, *, code: int | None = None, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.code = code
        self.retry_after = retry_after

    @property
    def message(self) -> str:
        return str(self)


@dataclass(frozen=True)
class Credentials:
    url: str
    customer_id: str
    requestor_id: str = ""
    api_key: str = ""
    platform: str = ""


def exception_of(data: Any) -> dict | None:
    """The first COUNTER exception of a body that is one (an object or a list of them), else None."""
    if isinstance(data, list) and data and all(isinstance(e, dict) and "Code" in e for e in data):
        data = data[0]
    if isinstance(data, dict) and "Code" in data and "Message" in data and "Report_Header" not in data:
        return data
    if isinstance(data, dict) and isinstance(data.get("Exception"), dict):  # some 5.0 servers wrap it
        return data["Exception"]
    return None


def problem_from(exc: dict, status: int = 200) -> SushiProblem:
    code = exc.get("Code")
    code = code if isinstance(code, int) and not isinstance(code, bool) else None
    text = str(exc.get("Message", ""))[:200]
    data = str(exc.get("Data") or "")[:200]
    kind = KINDS.get(code, "fault")
    detail = f"COUNTER exception {code}: {text}" + (f" ({data})" if data else "")
    if kind == "fault" and code is not None and code < 1000:
        kind = "fault"
    return SushiProblem(kind, detail + (f" [HTTP {status}]" if status != 200 else ""), code=code)


def get(creds: Credentials, path: str, params: dict[str, str] | None = None, *, max_bytes: int | None = None,
        timeout: tuple[float, float] | None = None) -> Any:
    """GET ``{url}/{path}`` with the credentials; the JSON body, or a SushiProblem."""
    max_bytes = max_bytes or MAX_BYTES
    timeout = timeout or TIMEOUT
    query = {"customer_id": creds.customer_id}
    if creds.requestor_id:
        query["requestor_id"] = creds.requestor_id
    if creds.api_key:
        query["api_key"] = creds.api_key
    if creds.platform:
        query["platform"] = creds.platform
    query.update(params or {})
    url = f"{creds.url}/{path.lstrip('/')}"
    try:
        with requests.get(url, params=query, timeout=timeout, stream=True, allow_redirects=True,
                          headers={"Accept": "application/json"}) as response:
            body = _read(response, max_bytes)
            status = response.status_code
            retry_after = response.headers.get("Retry-After", "")
            mimetype = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    except requests.Timeout:
        raise SushiProblem("fault", f"{_where(url)}: no answer within {int(timeout[1])} s") from None
    except requests.RequestException as exc:
        raise SushiProblem("fault", f"{_where(url)}: cannot connect ({type(exc).__name__})") from None
    if status == 404 and not body.strip().startswith((b"{", b"[")):
        raise SushiProblem("fault", f"{_where(url)}: HTTP 404 (not a SUSHI server, or a wrong URL)", code=None)
    if "html" in mimetype or body.lstrip()[:1] == b"<":
        raise SushiProblem("fault", f"{_where(url)}: HTTP {status}, an HTML page instead of JSON")
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise SushiProblem("fault", f"{_where(url)}: HTTP {status}, a body that is not UTF-8") from None
    except (ValueError, RecursionError):
        what = "an empty body" if not body.strip() else "a truncated or malformed JSON body"
        raise SushiProblem("fault", f"{_where(url)}: HTTP {status}, {what}") from None
    exc = exception_of(data)
    if exc is not None:
        problem = problem_from(exc, status)
        if retry_after.isdigit():
            problem.retry_after = int(retry_after)
        raise problem
    if status == 202:
        raise SushiProblem("backoff", f"{_where(url)}: report queued for processing (HTTP 202)", code=1011)
    if status == 429:
        raise SushiProblem("backoff", f"{_where(url)}: too many requests (HTTP 429)", code=1020,
                           retry_after=int(retry_after) if retry_after.isdigit() else None)
    if status in (401, 403):
        raise SushiProblem("credentials", f"{_where(url)}: HTTP {status}, credentials refused")
    if status >= 400:
        raise SushiProblem("fault", f"{_where(url)}: HTTP {status}")
    return data


def _read(response, max_bytes: int) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise SushiProblem("fault", f"the answer is too large ({int(declared)} bytes; {max_bytes} at most)")
    chunks, size = [], 0
    try:
        for chunk in response.iter_content(65536):
            size += len(chunk)
            if size > max_bytes:
                raise SushiProblem("fault", f"the answer is too large (over {max_bytes} bytes)")
            chunks.append(chunk)
    except requests.RequestException as exc:
        raise SushiProblem("fault", f"the answer was cut short ({type(exc).__name__})") from None
    return b"".join(chunks)


def _where(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"  # never the query: it carries the API key
