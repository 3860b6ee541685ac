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
    """Root of Sésame's errors."""

    code = "error"
    status = 500
    exit_code = 1

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


class ConfigError(BrokerError):
    """A setting is missing or invalid."""

    code = "config"
    exit_code = 2

    def __init__(self, key: str, expected: str, *, source: str | None = None) -> None:
        self.key = key
        self.expected = expected
        self.source = source
        where = f" (in {source})" if source else ""
        super().__init__(f"{key}{where}: {expected}")


class InvalidInput(BrokerError):
    """The input is malformed or violates a rule; nothing was written."""

    code = "invalid_input"
    status = 400
    exit_code = 2


class NotFound(InvalidInput):
    """The named object does not exist."""

    code = "not_found"
    status = 404


class Conflict(InvalidInput):
    """The object already exists or the change conflicts with the current state."""

    code = "conflict"
    status = 409


class Forbidden(BrokerError):
    """The actor may not do this."""

    code = "forbidden"
    status = 403


class OperationFailed(BrokerError):
    """The operation was refused or could not complete."""

    code = "failed"
    status = 409


class ServiceUnavailable(BrokerError):
    """A backing service (database, state store, SIGB) does not answer."""

    code = "unavailable"
    status = 503


class Unauthorized(BrokerError):
    """No valid API token: missing, unknown or revoked."""

    code = "unauthorized"
    status = 401


class TokenExpired(Unauthorized):
    """The token was valid but its lifetime is over (RFC 6750 ``invalid_token``)."""

    code = "token_expired"
