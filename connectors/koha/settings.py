"""The settings of a Koha REST connector, validated when a library is configured."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator


class KohaSettings(BaseModel):
    """Settings of the ``koha`` connector (one library's Koha, through its REST API)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str = Field(description="Koha's staff interface, e.g. https://koha-staff.example.org (the API is under /api/v1)")
    auth: Literal["oauth2", "basic"] = Field(
        default="oauth2",
        description="oauth2: client credentials (RESTOAuth2ClientCredentials); basic: a staff account (RESTBasicAuth)",
    )
    client_id: str | None = None
    client_secret: SecretStr | None = None
    username: str | None = None
    password: SecretStr | None = None
    timeout: float = Field(default=5.0, gt=0, le=60, description="seconds for a whole call, all requests included")
    verify_tls: bool = Field(default=True, description="check Koha's certificate (never turn off in production)")
    ca_file: str | None = Field(default=None, description="PEM bundle to check Koha's certificate with")
    card_case: Literal["upper", "lower", "keep"] = "upper"
    card_strip_spaces: bool = True
    card_max_length: int = Field(default=64, ge=1, le=256)
    accept_userid: bool = Field(
        default=False,
        description="let patrons type their Koha userid instead of their card number",
    )
    tell_unknown_cards: bool = Field(
        default=True,
        description="after a refusal, look the card up to tell an unknown card from a wrong password",
    )
    max_response_bytes: int = Field(default=1_000_000, ge=1024)
    pool_size: int = Field(default=10, ge=1, le=100, description="HTTP connections kept open")

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        scheme, sep, rest = value.partition("://")
        if not sep or scheme.lower() not in ("http", "https") or not rest:
            raise ValueError("must be an http:// or https:// URL")
        if value.lower().endswith("/api/v1"):
            value = value[: -len("/api/v1")]
        return value

    @model_validator(mode="after")
    def _credentials(self) -> KohaSettings:
        if self.auth == "oauth2" and not (self.client_id and self.client_secret):
            raise ValueError("client_id and client_secret are required when auth is 'oauth2'")
        if self.auth == "basic" and not (self.username and self.password):
            raise ValueError("username and password are required when auth is 'basic'")
        return self

    @property
    def api(self) -> str:
        return f"{self.base_url}/api/v1"

    @property
    def verify(self) -> bool | str:
        """The ``verify`` argument for requests."""
        if not self.verify_tls:
            return False
        return self.ca_file or True
