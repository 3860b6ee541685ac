"""The settings of a signed-link supplier: a pydantic model that refuses anything unsafe or unusable."""

from __future__ import annotations

import os
import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from . import template as tpl

#: a shared secret shorter than this is refused (HMAC keys should be at least as long as a hash block's worth
#: of entropy; 16 characters is the floor we accept)
MIN_SECRET = 16
MAX_ORIGINS = 20
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


def check_origin(value: str, *, allow_http: bool) -> str:
    """``scheme://host[:port]`` of a supplier, normalised (lower-case host, no default port)."""
    value = (value or "").strip()
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise ValueError(f"target origin {value[:100]!r}: not a URL") from None
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes or not parts.hostname or "@" in parts.netloc:
        raise ValueError(f"target origin {value[:100]!r}: expected https://host[:port]"
                         + ("" if allow_http else " (http only with --allow-http)"))
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"target origin {value[:100]!r}: only the scheme, host and port, without a path")
    return origin_of(parts.scheme, parts.hostname, port)


def origin_of(scheme: str, host: str, port: int | None) -> str:
    default = {"https": 443, "http": 80}.get(scheme)
    return f"{scheme}://{host.lower()}" + (f":{port}" if port and port != default else "")


class LinkSettings(BaseModel):
    """What a signed-link supplier is registered with."""

    model_config = ConfigDict(extra="forbid")

    url_template: str = Field(
        description="The link, with placeholders: {uid} {library} {network} {ts} {iso_ts} {exp} {nonce} "
                    "{target} {sig} and released attributes by name; must hold {sig}.",
        json_schema_extra={"label": "URL template"})
    secret_env: str = Field(
        "", description="Environment variable holding the secret shared with the supplier.",
        json_schema_extra={"label": "Secret variable"})
    secret: SecretStr | None = Field(
        None, description="The shared secret itself, stored encrypted (instead of secret_env).",
        json_schema_extra={"label": "Shared secret", "cli": False})
    store_secret: bool = Field(
        False, description="Copy the variable's value into the encrypted secret store, so that no node needs "
                           "the variable.", json_schema_extra={"label": "Keep the secret encrypted"})
    message: str = Field(tpl.DEFAULT_MESSAGE, description="What is signed (default {uid}{ts}); no {sig}.",
                         json_schema_extra={"label": "Signed message"})
    algorithm: Literal["hmac-sha256", "hmac-sha1", "md5-concat", "sha1-concat"] = Field(
        tpl.DEFAULT_ALGORITHM, description="How {sig} is computed (default hmac-sha256).",
        json_schema_extra={"label": "Algorithm", "legacy": sorted(tpl.LEGACY_ALGORITHMS)})
    lifetime: int = Field(300, ge=10, le=86400,
                          description="Seconds the supplier should accept a link after {ts} (default 300).",
                          json_schema_extra={"label": "Lifetime (seconds)"})
    target_origins: list[str] = Field(
        default_factory=list, description="An origin (https://host[:port]) a deep link may lead to.",
        json_schema_extra={"label": "Deep-link origins", "option": "--target-origin"})
    allow_legacy: bool = Field(False, description="Accept a legacy algorithm (md5-concat, sha1-concat).",
                               json_schema_extra={"label": "Allow a legacy algorithm"})
    allow_http: bool = Field(False, description="Accept http:// links and origins (tests only).",
                             json_schema_extra={"label": "Allow http (tests only)"})

    @field_validator("url_template", "message")
    @classmethod
    def _parses(cls, value: str, info) -> str:
        allowed = [p for p in tpl.PLACEHOLDERS if info.field_name == "url_template" or p != "sig"]
        try:
            tpl.parse(value, what="", allowed=allowed)
        except tpl.TemplateError as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("target_origins")
    @classmethod
    def _few_origins(cls, value: list[str]) -> list[str]:
        if len(value) > MAX_ORIGINS:
            raise ValueError(f"at most {MAX_ORIGINS} target origins")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> LinkSettings:
        url = tpl.parse(self.url_template)
        if "sig" not in url.fields:
            raise ValueError("url template: must hold {sig}, or the supplier cannot check the link")
        scheme = urlsplit(self.url_template.split("{", 1)[0]).scheme
        if not self.url_template.startswith("https://") and not (self.allow_http and scheme == "http"):
            raise ValueError("url template: must start with https:// (http:// only with --allow-http, for tests)")
        prefix = self.url_template.split("{", 1)[0]
        try:
            host = urlsplit(prefix).hostname
        except ValueError:
            host = None
        authority_closed = any(c in prefix.split("://", 1)[-1] for c in "/?#")
        if not host or not authority_closed or "@" in prefix:
            raise ValueError("url template: the host must be written out in full (https://host/…) before any "
                             "placeholder")
        if self.algorithm in tpl.LEGACY_ALGORITHMS and not self.allow_legacy:
            raise ValueError(f"algorithm {self.algorithm} is legacy (a hash of message + secret, weaker than "
                             "HMAC); give --allow-legacy only if the supplier accepts nothing else")
        self.target_origins = list(dict.fromkeys(check_origin(o, allow_http=self.allow_http)
                                                 for o in self.target_origins))
        uses_target = "target" in url.fields or "target" in tpl.parse(self.message).fields
        if uses_target and not self.target_origins:
            raise ValueError("the template uses {target}: give the supplier's origin(s) with --target-origin")
        if bool(self.secret_env) == (self.secret is not None):
            raise ValueError("give the shared secret as exactly one of --secret-env VAR (secret_env) and, through "
                             "the API, secret")
        if self.secret_env:
            if not _ENV_NAME.match(self.secret_env):
                raise ValueError(f"secret variable {self.secret_env[:60]!r}: expected a variable name")
            value = os.environ.get(self.secret_env)
            if not value:
                raise ValueError(f"secret variable {self.secret_env} is not set in this environment")
            if len(value) < MIN_SECRET:
                raise ValueError(f"secret variable {self.secret_env}: the secret must have at least "
                                 f"{MIN_SECRET} characters")
        elif len(self.secret.get_secret_value()) < MIN_SECRET:  # type: ignore[union-attr]  # secret is set when secret_env is not (checked above)
            raise ValueError(f"secret: at least {MIN_SECRET} characters")
        if self.store_secret and not self.secret_env:
            raise ValueError("store_secret copies secret_env's value: give secret_env")
        return self
