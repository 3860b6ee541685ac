"""The signed-link template language: placeholders, signature algorithms, rendering and masking.

A URL template and a message template hold ``{name}`` placeholders (``{{``
and ``}}`` are literal braces). ``{sig}`` is the lowercase hex digest of the
rendered message under the supplier's algorithm. In the URL every value is
percent-encoded; in the message, values are as they are (what the supplier
reads back after decoding the query). No framework here: the provider, the
CLI, the API and the tests share it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import quote

#: placeholders every link may use
BASE_PLACEHOLDERS = ("uid", "library", "network", "ts", "iso_ts", "exp", "nonce", "target", "sig")
#: released attributes by name (the release policy's names) → the released attribute they read
ATTRIBUTE_PLACEHOLDERS = {"library": "library", "network": "network", "birth_year": "birthYear",
                          "age_bracket": "ageBracket", "display_name": "displayName", "email": "mail"}
PLACEHOLDERS = tuple(dict.fromkeys((*BASE_PLACEHOLDERS, *ATTRIBUTE_PLACEHOLDERS)))
#: placeholders masked when a rendered link is written to a log
MASKED = frozenset({"uid", "sig", "nonce", "birth_year", "age_bracket", "display_name", "email"})

DEFAULT_MESSAGE = "{uid}{ts}"
DEFAULT_ALGORITHM = "hmac-sha256"
ALGORITHMS = ("hmac-sha256", "hmac-sha1", "md5-concat", "sha1-concat")
#: digests of ``message + secret``: weak, kept only for suppliers that require them
LEGACY_ALGORITHMS = frozenset({"md5-concat", "sha1-concat"})
MAX_TEMPLATE = 2000

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


class TemplateError(ValueError):
    """A template that cannot be used; the message says why."""


@dataclass(frozen=True)
class Template:
    """A parsed template: literal text and placeholder names, in order."""

    text: str
    parts: tuple[tuple[str, str], ...]  # ("text", literal) or ("field", name)

    @property
    def fields(self) -> frozenset[str]:
        return frozenset(value for kind, value in self.parts if kind == "field")

    def render(self, values: Mapping[str, str], *, encode: bool) -> str:
        out = []
        for kind, value in self.parts:
            if kind == "text":
                out.append(value)
            else:
                text = values.get(value, "")
                out.append(quote(text, safe="") if encode else text)
        return "".join(out)


def parse(text: str, *, what: str = "template", allowed: Iterable[str] = PLACEHOLDERS) -> Template:
    """Parse ``text``; an unknown placeholder or a stray brace is a TemplateError naming it."""
    what = f"{what}: " if what else ""
    if not isinstance(text, str) or not text:
        raise TemplateError(f"{what}empty")
    if len(text) > MAX_TEMPLATE:
        raise TemplateError(f"{what}longer than {MAX_TEMPLATE} characters")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        raise TemplateError(f"{what}control characters are not allowed")
    allowed = tuple(allowed)
    parts: list[tuple[str, str]] = []
    literal: list[str] = []
    pos = 0
    for match in _TOKEN.finditer(text):
        literal.append(text[pos:match.start()])
        pos = match.end()
        token = match.group(0)
        if token in ("{{", "}}"):
            literal.append(token[0])
            continue
        if token in ("{", "}"):
            raise TemplateError(f"{what}a lone '{token}' at position {match.start() + 1}; "
                                "write {{ or }} for a literal brace")
        name = match.group(1)
        if name not in allowed:
            raise TemplateError(f"{what}unknown placeholder {{{name[:40]}}}; expected some of "
                                + ", ".join("{" + p + "}" for p in allowed))
        if literal:
            parts.append(("text", "".join(literal)))
            literal = []
        parts.append(("field", name))
    literal.append(text[pos:])
    if "".join(literal):
        parts.append(("text", "".join(literal)))
    return Template(text, tuple(parts))


def sign(algorithm: str, secret: bytes, message: str) -> str:
    """The lowercase hex signature of ``message`` under ``algorithm``."""
    data = message.encode("utf-8")
    if algorithm == "hmac-sha256":
        return hmac.new(secret, data, hashlib.sha256).hexdigest()
    if algorithm == "hmac-sha1":
        return hmac.new(secret, data, hashlib.sha1).hexdigest()
    if algorithm == "md5-concat":
        return hashlib.md5(data + secret, usedforsecurity=False).hexdigest()
    if algorithm == "sha1-concat":
        return hashlib.sha1(data + secret, usedforsecurity=False).hexdigest()
    raise TemplateError(f"algorithm {algorithm!r}: expected one of {', '.join(ALGORITHMS)}")


def label(algorithm: str) -> str:
    """The algorithm's name as shown to people: legacy ones say so."""
    return f"{algorithm} (legacy)" if algorithm in LEGACY_ALGORITHMS else algorithm


@dataclass(frozen=True)
class Rendered:
    url: str
    #: the same URL with the identifier, the signature and personal attributes masked, for logs
    masked: str


def render(url_template: Template, message_template: Template, algorithm: str, secret: bytes,
           values: Mapping[str, str]) -> Rendered:
    """The signed URL for ``values`` (every placeholder but ``sig``)."""
    filled = dict(values)
    filled["sig"] = sign(algorithm, secret, message_template.render(filled, encode=False))
    masked = {k: (f"[{k}]" if k in MASKED and v else v) for k, v in filled.items()}
    return Rendered(url_template.render(filled, encode=True), url_template.render(masked, encode=False))
