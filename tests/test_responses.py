"""The app's responses reach the WSGI server as one list when their body is in memory."""

from __future__ import annotations

from flask import Flask, stream_with_context

from broker.web.responses import Response


def app() -> Flask:
    made = Flask(__name__)
    made.response_class = Response

    @made.get("/page")
    def page():
        return "<p>bonjour</p>"

    @made.get("/stream")
    def stream():
        return Response(stream_with_context(iter([b"a", b"b"])))

    @made.get("/closing")
    def closing():
        response = Response("done")
        response.call_on_close(lambda: None)
        return response

    return made


def call(path: str, method: str = "GET") -> tuple[str, dict, object]:
    seen: dict = {}

    def start_response(status, headers, exc_info=None):
        seen["status"], seen["headers"] = status, dict(headers)

    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "SERVER_NAME": "localhost", "SERVER_PORT": "80",
               "wsgi.url_scheme": "http", "SERVER_PROTOCOL": "HTTP/1.1"}
    body = app()(environ, start_response)
    return seen["status"], seen["headers"], body


def test_a_body_in_memory_is_one_list_with_its_length():
    status, headers, body = call("/page")
    assert status == "200 OK"
    assert body == [b"<p>bonjour</p>"]
    assert headers["Content-Length"] == "14"


def test_a_head_request_gets_the_headers_and_no_body():
    status, headers, body = call("/page", "HEAD")
    assert body == [] and headers["Content-Length"] == "14"


def test_a_streamed_body_or_one_with_close_callbacks_stays_an_iterator():
    for path, expected in (("/stream", b"ab"), ("/closing", b"done")):
        _status, _headers, body = call(path)
        assert not isinstance(body, list)
        assert b"".join(body) == expected  # type: ignore[arg-type]
        body.close()  # type: ignore[attr-defined]
