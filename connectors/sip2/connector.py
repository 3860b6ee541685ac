"""The SIP2 connector: authenticates patrons with one 63/64 exchange over a pooled, logged-in connection."""

from __future__ import annotations

import logging
import re
import time
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from broker.clock import SYSTEM, Clock
from broker.domain.connectors import (
    ConnectorContext,
    ConnectorProtocolError,
    ConnectorUnavailable,
    Health,
    InvalidCredentials,
    UnknownPatron,
)
from broker.domain.patrons import PatronRecord, mask_card, normalize_card

from . import fields as F
from .client import ClientConfig, Sip2Pool
from .codec import MAX_FIELD_LENGTH, Message, parse_sip_date, sip_datetime

log = logging.getLogger("connectors.sip2")

#: Where each SIGB puts a card's expiry date (see Sip2Settings.expiry_field).
EXPIRY_PRESETS = {"koha": F.KOHA_EXPIRY, "evergreen": F.EVERGREEN_EXPIRY}

_UNSAFE = re.compile(r"[\x00-\x1f\x7f|]")


class Sip2Settings(BaseModel):
    """A library's SIP2 settings, validated when the library is configured."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = Field(min_length=1, description="SIP2 server name or address")
    port: int = Field(default=6001, ge=1, le=65535)
    login: str = Field(min_length=1, description="SIP2 account (CN of the 93 login)")
    password: SecretStr = Field(description="SIP2 account password (CO of the 93 login)")
    institution: str = Field(min_length=1, description="institution id sent as AO")
    location: str | None = Field(default=None, description="location code sent as CP in the login")
    terminal_password: SecretStr | None = Field(default=None, description="sent as AC when the server wants it")
    tls: bool = False
    tls_verify: bool = True
    tls_ca_file: str | None = None
    timeout: float = Field(default=5.0, gt=0, le=60, description="seconds for a whole call")
    encoding: Literal["utf-8", "cp850", "latin-1"] = "utf-8"
    error_detection: bool = Field(default=False, description="send and require AY/AZ checksums")
    terminator: Literal["CR", "CRLF"] = "CR"
    sigb: Literal["koha", "evergreen", "other"] = Field(
        default="koha",
        description="evergreen: an unknown card and a wrong password get the same answer",
    )
    expiry_field: str | None = Field(
        default=None,
        description="field holding the card's expiry: 'koha' (DE), 'evergreen' (PA), a two-letter code,"
        " or '' for none; default: the preset of `sigb`",
    )
    home_branch_field: str | None = Field(default=None, description="field holding the patron's home branch")
    card_case: Literal["upper", "lower", "keep"] = "upper"
    card_strip_spaces: bool = True
    lookup_message: Literal["63", "23"] = "63"
    blocking_flags: tuple[str, ...] = Field(
        default=("charge_denied",), description="patron status conditions that make the card blocked"
    )
    pool_size: int = Field(default=4, ge=1, le=64)
    max_idle: float = Field(default=50.0, gt=0, description="seconds before an idle connection is replaced")

    @field_validator("login", "password", "institution", "location", "terminal_password")
    @classmethod
    def _sendable(cls, value: str | SecretStr | None) -> str | SecretStr | None:
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if text is not None and (len(text) > MAX_FIELD_LENGTH or _UNSAFE.search(text)):
            raise ValueError(f"must be at most {MAX_FIELD_LENGTH} characters, without '|' or control characters")
        return value

    @model_validator(mode="after")
    def _encodable(self) -> Sip2Settings:
        for name in ("login", "password", "institution", "location", "terminal_password"):
            value = getattr(self, name)
            text = value.get_secret_value() if isinstance(value, SecretStr) else value
            try:
                (text or "").encode(self.encoding)
            except UnicodeEncodeError:
                raise ValueError(f"{name} cannot be written in {self.encoding}") from None
        return self

    @field_validator("expiry_field", "home_branch_field")
    @classmethod
    def _field_code(cls, value: str | None) -> str | None:
        if value is None or value == "" or value in EXPIRY_PRESETS:
            return value
        if not re.fullmatch(r"[A-Z]{2}", value):
            raise ValueError("must be a two-letter SIP2 field code (e.g. DE, PA) or a preset: koha, evergreen")
        return value

    @field_validator("blocking_flags")
    @classmethod
    def _flags(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [flag for flag in value if flag not in F.PATRON_STATUS_FLAGS]
        if unknown:
            raise ValueError(f"unknown patron status flags {unknown}; known: {', '.join(F.PATRON_STATUS_FLAGS)}")
        return value

    @property
    def expiry_code(self) -> str | None:
        """The field code the expiry date is read from, or None."""
        value = self.expiry_field
        if value is None:
            value = "evergreen" if self.sigb == "evergreen" else "koha"
        return EXPIRY_PRESETS.get(value, value) or None

    def client_config(self) -> ClientConfig:
        return ClientConfig(
            host=self.host,
            port=self.port,
            login=self.login,
            password=self.password.get_secret_value(),
            location=self.location,
            timeout=self.timeout,
            encoding=self.encoding,
            error_detection=self.error_detection,
            terminator="\r\n" if self.terminator == "CRLF" else "\r",
            tls=self.tls,
            tls_verify=self.tls_verify,
            tls_ca_file=self.tls_ca_file,
            pool_size=self.pool_size,
            max_idle=self.max_idle,
        )


class Sip2Connector:
    """A library's SIGB reached over SIP2; implements broker.domain.connectors.Connector."""

    def __init__(self, settings: Sip2Settings, *, context: ConnectorContext | None = None) -> None:
        if isinstance(settings, dict):
            settings = Sip2Settings.model_validate(settings)
        self.settings = settings
        self.library = context.library_code if context else None
        #: the broker's clock: a card's expiry is judged on its "today"
        self.clock: Clock = (context.clock if context else None) or SYSTEM
        self.pool = Sip2Pool(settings.client_config(), clock=self.clock)
        self._blocking = frozenset(settings.blocking_flags)

    # -- the Connector protocol -------------------------------------------------

    def authenticate(self, card: str, secret: str) -> PatronRecord:
        card = self._card(card)
        if card is None:
            raise UnknownPatron("this card number cannot exist (empty, too long or with forbidden characters)")
        if not secret or len(secret) > MAX_FIELD_LENGTH or _UNSAFE.search(secret) or not self._encodable(secret):
            raise InvalidCredentials("the password is empty or cannot be sent to the SIGB")
        answer = self.pool.request(self._patron_information(card, secret), "64")
        return self._record(card, answer, with_secret=True)  # type: ignore[return-value]  # None only without the secret

    def lookup(self, card: str) -> PatronRecord | None:
        card = self._card(card)
        if card is None:
            return None
        if self.settings.lookup_message == "23":
            message = Message("23", "000" + sip_datetime(), self._patron_fields(card, None))
            answer = self.pool.request(message, "24")
        else:
            answer = self.pool.request(self._patron_information(card, None), "64")
        return self._record(card, answer, with_secret=False)

    def check(self) -> Health:
        started = time.perf_counter()
        try:
            answer = self.pool.request(Message("99", "0" + "080" + "2.00"), "98")
        except ConnectorUnavailable as exc:
            return Health(False, f"{exc.reason}: {exc}", (time.perf_counter() - started) * 1000)
        latency = (time.perf_counter() - started) * 1000
        online = answer.fixed[:1] == "Y"
        version = answer.fixed[30:34]
        detail = f"SIP2 {self.pool.config.address} {'online' if online else 'offline'}, protocol {version}"
        return Health(online, detail, latency)

    def close(self) -> None:
        """Close the pooled connections."""
        self.pool.close()

    # -- helpers ----------------------------------------------------------------

    def _card(self, card: str) -> str | None:
        if not isinstance(card, str):
            return None
        value = normalize_card(card, case=self.settings.card_case, strip_spaces=self.settings.card_strip_spaces)
        if not value or len(value) > MAX_FIELD_LENGTH or _UNSAFE.search(value) or not self._encodable(value):
            return None
        return value

    def _encodable(self, value: str) -> bool:
        try:
            value.encode(self.settings.encoding)
        except UnicodeEncodeError:
            return False
        return True

    def _patron_fields(self, card: str, secret: str | None) -> tuple[tuple[str, str], ...]:
        fields = [(F.INSTITUTION, self.settings.institution), (F.PATRON_ID, card)]
        if self.settings.terminal_password is not None:
            fields.append((F.TERMINAL_PASSWORD, self.settings.terminal_password.get_secret_value()))
        if secret is not None:
            fields.append((F.PATRON_PASSWORD, secret))
        return tuple(fields)

    def _patron_information(self, card: str, secret: str | None) -> Message:
        return Message("63", "000" + sip_datetime() + " " * 10, self._patron_fields(card, secret))

    def _record(self, card: str, answer: Message, *, with_secret: bool) -> PatronRecord | None:
        address = self.pool.config.address
        valid = answer.get(F.VALID_PATRON)
        if valid == "N":
            if not with_secret:
                return None
            log.info("sip2 %s: card %s refused (BL=N)", address, mask_card(card))
            if self.settings.sigb == "evergreen":
                raise InvalidCredentials("the SIGB refused the card or the password (Evergreen does not say which)")
            raise UnknownPatron("the SIGB knows no patron with this card")
        if valid != "Y":
            raise ConnectorProtocolError(f"SIP2 answer from {address} has no valid BL (valid patron) field")
        if with_secret:
            password_ok = answer.get(F.VALID_PASSWORD)
            if password_ok == "N":
                log.info("sip2 %s: wrong password for card %s", address, mask_card(card))
                raise InvalidCredentials("the SIGB refused the password")
            if password_ok != "Y":
                raise ConnectorProtocolError(f"SIP2 answer from {address} has no valid CQ (valid password) field")
        return self._patron(card, answer)

    def _patron(self, card: str, answer: Message) -> PatronRecord:
        flags = F.status_flags(answer.fixed[:14])
        birth_date = self._date(answer, F.BIRTH_DATE)
        expiry_code = self.settings.expiry_code
        expires = self._date(answer, expiry_code) if expiry_code else None
        lost = "card_lost" in flags
        expired = expires is not None and expires < self.clock.today()
        denied = flags & self._blocking
        if lost or expired:
            # Koha and Evergreen deny privileges *because* the card is lost or expired:
            # the card's problem is then that, not a separate block.
            denied -= F.PRIVILEGE_FLAGS
        blocked = None
        if denied:
            screen = " ".join(m.strip() for m in answer.get_all(F.SCREEN_MESSAGE) if m.strip())
            blocked = screen[:200] or ", ".join(sorted(denied))
        home = answer.get(self.settings.home_branch_field) if self.settings.home_branch_field else None
        extra = {"sip2_status": ",".join(name for name in F.PATRON_STATUS_FLAGS if name in flags)}
        return PatronRecord(
            card=card,
            name=(answer.get(F.PERSONAL_NAME) or "").strip(),
            email=(answer.get(F.EMAIL) or "").strip() or None,
            birth_date=birth_date,
            category=(answer.get(F.CATEGORY) or "").strip() or None,
            expires=expires,
            blocked=blocked,
            lost=lost,
            home_branch=(home or "").strip() or None,
            extra=extra,
        )

    def _date(self, answer: Message, code: str) -> date | None:
        value = answer.get(code)
        if value is None:
            return None
        try:
            return parse_sip_date(value)
        except ValueError:
            raise ConnectorProtocolError(
                f"SIP2 answer from {self.pool.config.address}: field {code} is not a date", value
            ) from None

    def __repr__(self) -> str:
        return f"Sip2Connector({self.pool.config.address}, library={self.library!r})"
