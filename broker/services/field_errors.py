"""Input errors that name the field at fault, so a form can show them beside it and the API can name it.

The ``message`` is the CLI's (English) sentence; ``code`` and ``params`` let the
web layer say the same in the page's language.
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidInput


class FieldError(InvalidInput):
    """One field's value is refused; nothing was written."""

    def __init__(self, field: str, code: str, message: str, **params: Any) -> None:
        super().__init__(message, code=code)
        self.field = field
        self.params = params
