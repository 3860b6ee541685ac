"""A JWT supplier's settings: where the token goes, which variable holds the key, how long it lives."""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


class JwtSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    endpoint: str = Field(description="The supplier's https URL that takes ?jwt=<token>.",
                          json_schema_extra={"label": "Token endpoint"})
    secret_env: str = Field(description="Environment variable holding the HS256 key shared with the supplier.",
                            json_schema_extra={"label": "Key variable"})
    audience: str = Field("", description="The token's aud claim (default: the endpoint's origin).",
                          json_schema_extra={"label": "Audience"})
    lifetime: int = Field(60, ge=10, le=600, description="Seconds the token is valid (default 60).",
                          json_schema_extra={"label": "Lifetime (seconds)"})

    @field_validator("endpoint")
    @classmethod
    def _https(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme != "https" or not parts.hostname or "@" in parts.netloc or parts.query:
            raise ValueError("expected an https:// URL without user info or query")
        return value

    @model_validator(mode="after")
    def _key(self) -> JwtSettings:
        if not _ENV_NAME.match(self.secret_env):
            raise ValueError(f"secret variable {self.secret_env[:60]!r}: expected a variable name")
        if len(os.environ.get(self.secret_env, "")) < 32:
            raise ValueError(f"secret variable {self.secret_env}: not set, or shorter than 32 characters")
        return self

    @property
    def origin(self) -> str:
        parts = urlsplit(self.endpoint)
        return f"{parts.scheme}://{parts.netloc}"
