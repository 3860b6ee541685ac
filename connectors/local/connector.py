"""Authenticate against the ``local_patrons`` table (PINs hashed with argon2id)."""

from __future__ import annotations

import time

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from pydantic import BaseModel, ConfigDict, Field

from broker.domain.connectors import (
    ConnectorContext,
    Health,
    InvalidCredentials,
    LocalPatronEntry,
    LocalPatronStore,
    UnknownPatron,
)
from broker.domain.patrons import PatronRecord

PIN_HASHER = PasswordHasher()
_DUMMY = PIN_HASHER.hash("0000-not-a-pin")


class LocalSettings(BaseModel):
    """The local connector needs no address: its patrons live in Sésame's database."""

    model_config = ConfigDict(extra="forbid")
    min_pin_length: int = Field(4, ge=4, le=64)


class LocalConnector:
    def __init__(self, settings: LocalSettings, context: ConnectorContext) -> None:
        if context.local_patrons is None:
            raise ValueError("the local connector needs Sésame's local patron store")
        self.settings = settings
        self.library_code = context.library_code
        self.patrons: LocalPatronStore = context.local_patrons

    def _row(self, card: str) -> LocalPatronEntry | None:
        return self.patrons.find(self.library_code, card)

    @staticmethod
    def _record(card: str, row: LocalPatronEntry) -> PatronRecord:
        return PatronRecord(card=card, name=row.name, email=row.email, birth_date=row.birth_date,
                            category=row.category, expires=row.expires, blocked=row.blocked or None)

    def authenticate(self, card: str, secret: str) -> PatronRecord:
        row = self._row(card)
        try:
            ok = PIN_HASHER.verify(row.pin_hash if row else _DUMMY, secret) and row is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            ok = False
        if row is None:
            raise UnknownPatron("no local patron with this card")
        if not ok:
            raise InvalidCredentials("wrong PIN")
        return self._record(card, row)

    def lookup(self, card: str) -> PatronRecord | None:
        row = self._row(card)
        return self._record(card, row) if row else None

    def check(self) -> Health:
        started = time.perf_counter()
        try:
            self.patrons.ping()
        except Exception as exc:
            return Health(False, f"database: {type(exc).__name__}")
        return Health(True, "local patron store", (time.perf_counter() - started) * 1000)


def make_local_connector(settings: LocalSettings, context: ConnectorContext) -> LocalConnector:
    return LocalConnector(settings, context)
