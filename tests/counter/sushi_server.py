"""A COUNTER_SUSHI5 server over real HTTP for the tests, after the COUNTER_SUSHI5 OpenAPI specification.

It serves ``/r5`` (release 5.0) and ``/r51`` (release 5.1): ``/status``,
``/members``, ``/reports`` (the reports in ``offered``, PR alone by default),
``/reports/pr``, ``/reports/dr``, ``/reports/tr`` and ``/reports/ir`` (3000 when
not offered). What a report answers for a customer and month is set per test in
``answers``, keyed ``(customer, month)`` for PR and ``(customer, month, "TR")``
for the others (3030 when unset): a report body, a COUNTER exception, an HTML
page, a truncated or an oversized body. Credentials are checked as a server does (2020 for a wrong API
key, 2010 for a customer the requestor may not see). Every request is logged.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from cop_reports import EXCEPTIONS, exception

REPORT_NAMES = {"PR": "Platform Report", "DR": "Database Report", "TR": "Title Report", "IR": "Item Report"}


class SushiServer:
    def __init__(self) -> None:
        self.api_key = "k3y-demo"
        self.requestor_id = "sesame"
        self.customers: set[str] = {"NET-1"}
        self.members: dict[str, list[dict]] = {}  # customer → /members answer
        self.answers: dict[tuple[str, str], tuple] = {}  # (customer, month) → ("json", body) | ("exception", code) | …
        self.log: list[tuple[str, dict[str, str]]] = []
        self.offered: list[str] = ["PR"]
        self.unsupported: set[str] = set()  # listed at /reports, yet answered 3000 (Report Not Supported)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def url(self, release: str = "5.1") -> str:
        return f"http://127.0.0.1:{self.port}/{'r51' if release == '5.1' else 'r5'}"

    def start(self) -> SushiServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def reset(self) -> None:
        self.customers, self.members, self.answers, self.log = {"NET-1"}, {}, {}, []
        self.offered, self.unsupported = ["PR"], set()

    def requests_to(self, path: str) -> list[dict[str, str]]:
        return [q for p, q in self.log if p.endswith(path)]

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                server.log.append((parts.path, query))
                release, _, method = parts.path.lstrip("/").partition("/")
                if release not in ("r5", "r51"):
                    return self._send(404, b"not found", "text/plain")
                rel = "5" if release == "r5" else "5.1"
                if method == "status":
                    return self._json(200, [{"Description": "Demo SUSHI", "Service_Active": True,
                                             "Registry_Record": "", "Alerts": []}])
                problem = self._check(query, rel)
                if problem:
                    return problem
                customer = query["customer_id"]
                if method == "members":
                    return self._json(200, server.members.get(customer, [
                        {"Customer_ID": customer, "Requestor_ID": query.get("requestor_id", ""),
                         "Name": "Réseau des médiathèques"}]))
                if method == "reports":
                    return self._json(200, [{"Report_Name": REPORT_NAMES[rid], "Report_ID": rid, "Release": rel,
                                             "Report_Description": f"{REPORT_NAMES[rid]} usage",
                                             "Path": f"/reports/{rid.lower()}"} for rid in server.offered])
                if method not in ("reports/pr", "reports/dr", "reports/tr", "reports/ir"):
                    return self._send(404, b"not found", "text/plain")
                report_id = method.rpartition("/")[2].upper()
                if report_id not in server.offered or report_id in server.unsupported:
                    return self._exception(3000, rel)
                month = query.get("begin_date", "")[:7]
                key = (customer, month) if report_id == "PR" else (customer, month, report_id)
                answer = server.answers.get(key, ("exception", 3030))
                kind = answer[0]
                if kind == "json":
                    return self._json(answer[2] if len(answer) > 2 else 200, answer[1])
                if kind == "exception":
                    return self._exception(answer[1], rel, status=answer[2] if len(answer) > 2 else None)
                if kind == "html":
                    return self._send(200, b"<!doctype html><title>Maintenance</title><p>Back soon", "text/html")
                if kind == "truncated":
                    return self._send(200, json.dumps(answer[1]).encode()[:-40], "application/json")
                if kind == "oversized":
                    return self._send(200, b'{"Report_Header": {}, "pad": "' + b"x" * answer[1] + b'"}',
                                      "application/json")
                if kind == "error":
                    return self._send(answer[1], b"", "application/json")
                raise AssertionError(answer)

            def _check(self, query, rel):
                if "customer_id" not in query:
                    return self._exception(1030, rel, status=400, message="Insufficient Information to Process Request")
                if query.get("api_key") != server.api_key:
                    return self._exception(2020, rel)
                if query.get("requestor_id") != server.requestor_id:
                    return self._exception(2010, rel)
                known = server.customers | {m["Customer_ID"] for ms in server.members.values() for m in ms}
                if query["customer_id"] not in known:
                    return self._exception(2010, rel)
                return None

            def _exception(self, code, rel, *, status=None, message=None):
                text, default = EXCEPTIONS.get(code, (message or "Error", 400))
                return self._json(status or default, exception(code, message or text, release=rel))

            def _json(self, status, body):
                return self._send(status, json.dumps(body).encode(), "application/json")

            def _send(self, status, data, content_type):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler
