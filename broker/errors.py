"""The exception tree: every error Sésame raises on purpose derives from BrokerError.

Each error carries a machine ``code`` and an HTTP ``status``; the web edge turns
them into pages or JSON bodies, the CLI into exit codes (2 for bad input, 1 for
a refused or failed operation).
"""

from __future__ import annotations

from typing import Any


class Translatable(str):
    """A sentence for people, in French, that the web layer shows in the page's language.

    Its value is the French text, parameters filled in (what the CLI and the
    logs show); ``msgid`` and ``params`` let the web layer translate it
    (``broker.web.errors.message_of``). Services, which import no web
    framework, raise errors with such a message.
    """

    msgid: str
    params: dict[str, Any]

    def __new__(cls, msgid: str, **params: Any) -> Translatable:
        text = super().__new__(cls, msgid % params if params else msgid)
        text.msgid = msgid
        text.params = params
        return text


class BrokerError(Exception):
    """Root of Sésame's errors.

    A subclass gives its own ``code``, ``status`` and ``exit_code`` in its header, e.g.
    ``class NotFound(InvalidInput, code="not_found", status=404)``; what it does not give it inherits.
    """

    code = "error"
    status = 500
    exit_code = 1

    def __init_subclass__(cls, *, code: str | None = None, status: int | None = None,
                          exit_code: int | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if code is not None:
            cls.code = code
        if status is not None:
            cls.status = status
        if exit_code is not None:
            cls.exit_code = exit_code

    def __init__(self, message: str = "", *, code: str | None = None) -> None:
        super().__init__(message or self.__class__.__doc__ or self.code)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self)

    @property
    def translatable(self) -> Translatable | None:
        """The message as the web layer translates it, when it was given as one."""
        given = self.args[0] if self.args else None
        return given if isinstance(given, Translatable) else None


class ConfigError(BrokerError, code="config", exit_code=2):
    """A setting is missing or invalid."""

    def __init__(self, key: str, expected: str, *, source: str | None = None) -> None:
        self.key = key
        self.expected = expected
        self.source = source
        where = f" (in {source})" if source else ""
        super().__init__(f"{key}{where}: {expected}")


class InvalidInput(BrokerError, code="invalid_input", status=400, exit_code=2):
    """The input is malformed or violates a rule; nothing was written."""


class NotFound(InvalidInput, code="not_found", status=404):
    """The named object does not exist."""


class Conflict(InvalidInput, code="conflict", status=409):
    """The object already exists or the change conflicts with the current state."""


class Forbidden(BrokerError, code="forbidden", status=403):
    """The actor may not do this."""


class OperationFailed(BrokerError, code="failed", status=409):
    """The operation was refused or could not complete."""


class ServiceUnavailable(BrokerError, code="unavailable", status=503):
    """A backing service (database, state store, SIGB) does not answer."""


class Unauthorized(BrokerError, code="unauthorized", status=401):
    """No valid API token: missing, unknown or revoked."""


class TokenExpired(Unauthorized, code="token_expired"):
    """The token was valid but its lifetime is over (RFC 6750 ``invalid_token``)."""
