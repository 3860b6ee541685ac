"""The app's response class: a body already in memory goes to the server as one list."""

from __future__ import annotations

from typing import Any

from flask import Response as FlaskResponse


class Response(FlaskResponse):
    """Flask's response, whose WSGI body is a list when the whole body is already in memory.

    PEP 3333 lets a server send a list in one write: granian takes it as one buffer, where it
    pulls any other iterable one chunk at a time, crossing into the interpreter for each. Flask
    wraps every body in an iterator; here a body held in memory (every page, redirect and JSON
    answer of the app) is handed over as the list it is. Streamed bodies, files and responses
    with close callbacks keep Flask's iterator.
    """

    def __call__(self, environ: dict, start_response: Any) -> Any:
        if not self.is_sequence or self.direct_passthrough or self._on_close:
            return super().__call__(environ, start_response)
        app_iter, status, headers = self.get_wsgi_response(environ)
        start_response(status, headers)
        body = list(app_iter)
        getattr(app_iter, "close", lambda: None)()
        return body
