"""The settings of an LDAP connector, validated when a library is configured."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

CARD_PLACEHOLDER = "{card}"


class LdapAttributeMap(BaseModel):
    """Which directory attribute feeds which field of a PatronRecord.

    ``name`` may list several attributes: the first one the entry has wins
    (``displayName`` then ``cn`` is common). A field set to None is not read.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    card: str | None = Field(
        default=None,
        description="attribute holding the card number as the SIGB writes it; None keeps the typed card, normalised",
    )
    name: str | list[str] = Field(default_factory=lambda: ["displayName", "cn"])
    email: str | None = "mail"
    birth_date: str | None = None
    category: str | None = None
    expires: str | None = None
    blocked: str | None = Field(
        default=None,
        description="attribute whose presence blocks the card; its value is the reason (TRUE/1 mean 'blocked', FALSE/0 mean not blocked)",
    )
    lost: str | None = Field(default=None, description="boolean attribute: TRUE when the card is declared lost")
    home_branch: str | None = None

    @field_validator("name")
    @classmethod
    def _names_not_empty(cls, value: str | list[str]) -> str | list[str]:
        names = [value] if isinstance(value, str) else value
        if not names or any(not n.strip() for n in names):
            raise ValueError("name needs at least one attribute name")
        return value

    @property
    def name_attributes(self) -> list[str]:
        return [self.name] if isinstance(self.name, str) else list(self.name)

    def requested(self) -> list[str]:
        """The attribute list to ask the directory for."""
        wanted = [*self.name_attributes]
        for attr in (self.card, self.email, self.birth_date, self.category, self.expires,
                     self.blocked, self.lost, self.home_branch):
            if attr and attr not in wanted:
                wanted.append(attr)
        return wanted


class LdapSettings(BaseModel):
    """Settings of the ``ldap`` connector (one library's directory)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(description="ldap://host[:port] or ldaps://host[:port]")
    start_tls: bool = Field(default=False, description="upgrade an ldap:// connection with StartTLS")
    bind_dn: str | None = Field(default=None, description="service account; None searches anonymously")
    bind_password: SecretStr | None = None
    base_dn: str
    search_filter: str = Field(
        default="(uid={card})",
        description="LDAP filter; {card} is replaced by the escaped, normalised card number",
    )
    scope: Literal["base", "one", "sub"] = "sub"
    auth_mode: Literal["bind", "compare"] = Field(
        default="bind",
        description="bind: bind as the patron's entry with their password; compare: compare pin_attribute with the PIN",
    )
    pin_attribute: str | None = None
    attributes: LdapAttributeMap = Field(default_factory=LdapAttributeMap)
    timeout: float = Field(default=5.0, gt=0, le=60, description="seconds, for connect and for every operation")
    ca_file: str | None = Field(default=None, description="PEM file of the CA that signed the directory's certificate")
    tls_verify: bool = Field(default=True, description="check the directory's certificate (never turn off in production)")
    card_case: Literal["upper", "lower", "keep"] = "upper"
    card_strip_spaces: bool = True
    card_max_length: int = Field(default=64, ge=1, le=256)
    pool_size: int = Field(default=4, ge=1, le=64, description="idle connections kept open")

    @model_validator(mode="before")
    @classmethod
    def _fold_attribute_keys(cls, data: Any) -> Any:
        """Accept ``attributes.card=…`` keys and a JSON ``attributes`` string, as a command line gives them."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if isinstance(data.get("attributes"), str):
            try:
                data["attributes"] = json.loads(data["attributes"])
            except ValueError as exc:
                raise ValueError(f"attributes: not a JSON object ({exc})") from exc
        dotted = {k: data.pop(k) for k in [k for k in data if isinstance(k, str) and k.startswith("attributes.")]}
        if dotted:
            nested = dict(data.get("attributes") or {})
            for key, value in dotted.items():
                field = key.removeprefix("attributes.")
                nested[field] = value.split(",") if field == "name" and isinstance(value, str) and "," in value \
                    else value
            data["attributes"] = nested
        return data

    @field_validator("url")
    @classmethod
    def _ldap_url(cls, value: str) -> str:
        value = value.strip()
        scheme, sep, rest = value.partition("://")
        if not sep or scheme.lower() not in ("ldap", "ldaps") or not rest.strip("/"):
            raise ValueError("must be ldap://host[:port] or ldaps://host[:port]")
        return value

    @field_validator("search_filter")
    @classmethod
    def _filter_shape(cls, value: str) -> str:
        value = value.strip()
        if CARD_PLACEHOLDER not in value:
            raise ValueError("must contain the {card} placeholder")
        if not (value.startswith("(") and value.endswith(")")):
            raise ValueError("must be enclosed in parentheses, e.g. (uid={card})")
        depth = 0
        for char in value:
            depth += {"(": 1, ")": -1}.get(char, 0)
            if depth < 0:
                break
        if depth != 0:
            raise ValueError("has unbalanced parentheses")
        return value

    @field_validator("base_dn")
    @classmethod
    def _base_dn(cls, value: str) -> str:
        if "=" not in value:
            raise ValueError("must be a DN such as ou=people,dc=example,dc=org")
        return value.strip()

    @model_validator(mode="after")
    def _consistent(self) -> LdapSettings:
        if self.auth_mode == "compare" and not self.pin_attribute:
            raise ValueError("pin_attribute is required when auth_mode is 'compare'")
        if self.start_tls and self.url.lower().startswith("ldaps://"):
            raise ValueError("start_tls makes no sense with ldaps:// (already encrypted)")
        if self.bind_dn and self.bind_password is None:
            raise ValueError("bind_password is required with bind_dn")
        return self

    @property
    def uses_tls(self) -> bool:
        return self.start_tls or self.url.lower().startswith("ldaps://")
