"""The connector: reads the patron file (re-read when it changes) and checks hashed PINs."""

from __future__ import annotations

import csv
import json
import threading
import time
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from broker.domain.connectors import (
    ConnectorContext,
    ConnectorUnavailable,
    Health,
    InvalidCredentials,
    UnknownPatron,
)
from broker.domain.patrons import PatronRecord, normalize_card

from .pins import verify_pin

COLUMNS = ("card", "pin", "name", "email", "birth_date", "category", "expires", "blocked")


class CsvFileSettings(BaseModel):
    """A library's settings for the csv-file connector."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(min_length=1, description="the patron file, .csv or .json")
    format: Literal["auto", "csv", "json"] = "auto"
    card_case: Literal["upper", "lower", "keep"] = "upper"


def _date(value: object) -> date | None:
    return date.fromisoformat(str(value)) if value else None


class CsvFileConnector:
    """Patrons kept in a file next to Sésame; implements the Connector protocol."""

    def __init__(self, settings: CsvFileSettings, *, context: ConnectorContext | None = None) -> None:
        self.settings = settings
        self.path = Path(settings.path)
        self._lock = threading.Lock()
        self._stamp: tuple[float, int] | None = None
        self._patrons: dict[str, dict[str, str]] = {}

    def authenticate(self, card: str, secret: str) -> PatronRecord:
        row = self._find(card)
        if row is None:
            raise UnknownPatron("no patron with this card in the file")
        if not secret or not verify_pin(secret, row.get("pin", "")):
            raise InvalidCredentials("wrong PIN")
        return self._record(row)

    def lookup(self, card: str) -> PatronRecord | None:
        row = self._find(card)
        return None if row is None else self._record(row)

    def check(self) -> Health:
        started = time.perf_counter()
        try:
            count = len(self._load())
        except ConnectorUnavailable as exc:
            return Health(False, str(exc))
        return Health(True, f"{count} patrons in {self.path.name}", (time.perf_counter() - started) * 1000)

    def _find(self, card: str) -> dict[str, str] | None:
        if not isinstance(card, str):
            return None
        key = normalize_card(card, case=self.settings.card_case)
        return self._load().get(key) if key else None

    def _load(self) -> dict[str, dict[str, str]]:
        """The patrons by card, re-read only when the file changed."""
        try:
            stat = self.path.stat()
        except OSError as exc:
            raise ConnectorUnavailable(f"patron file {self.path} unreadable: {exc.strerror}") from None
        stamp = (stat.st_mtime, stat.st_size)
        with self._lock:
            if stamp != self._stamp:
                self._patrons = self._read()
                self._stamp = stamp
            return self._patrons

    def _read(self) -> dict[str, dict[str, str]]:
        kind = self.settings.format
        if kind == "auto":
            kind = "json" if self.path.suffix.lower() == ".json" else "csv"
        try:
            text = self.path.read_text(encoding="utf-8")
            rows = json.loads(text) if kind == "json" else list(csv.DictReader(text.splitlines()))
        except (OSError, UnicodeDecodeError, ValueError, csv.Error) as exc:
            raise ConnectorUnavailable(f"patron file {self.path} unusable: {exc}") from None
        case = self.settings.card_case
        return {normalize_card(str(row["card"]), case=case): {k: str(v or "") for k, v in row.items()} for row in rows}

    def _record(self, row: dict[str, str]) -> PatronRecord:
        blocked = row.get("blocked", "").strip()
        lost = blocked.lower() == "lost"
        return PatronRecord(
            card=normalize_card(row["card"], case=self.settings.card_case),
            name=row.get("name", ""),
            email=row.get("email") or None,
            birth_date=_date(row.get("birth_date")),
            category=row.get("category") or None,
            expires=_date(row.get("expires")),
            blocked=None if lost or not blocked else blocked,
            lost=lost,
        )
