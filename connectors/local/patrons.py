"""Importing and editing local patrons (all-or-nothing CSV import)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from broker.connector_kit import audit, clean_email, clean_text, library
from broker.db.models import LocalPatron
from broker.domain.identifiers import card_digest
from broker.domain.patrons import normalize_card
from broker.errors import Conflict, InvalidInput

from .connector import PIN_HASHER

if TYPE_CHECKING:
    from broker.runtime import Runtime

COLUMNS = ["card", "name", "birth_date", "expires", "pin"]


@dataclass(frozen=True)
class LocalRow:
    line: int
    card: str
    name: str
    birth_date: date | None
    expires: date | None
    pin: str
    email: str | None


def _date(value: str, what: str, line: int) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"line {line}: {what} {value!r} is not a date YYYY-MM-DD") from None


def parse(text: str) -> list[LocalRow]:
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise InvalidInput(f"line 1: missing column(s) {', '.join(missing)} (expected {','.join(COLUMNS)}[,email])")
    rows, seen = [], set()
    for line, raw in enumerate(reader, start=2):
        data = {(k or "").strip().lower(): (v or "") for k, v in raw.items()}
        if None in raw:
            raise InvalidInput(f"line {line}: too many fields")
        card = data["card"].strip()
        if not card or len(card) > 64:
            raise InvalidInput(f"line {line}: the card number is empty or too long")
        pin = data["pin"].strip()
        if len(pin) < 4 or len(pin) > 64:
            raise InvalidInput(f"line {line}: the PIN must have 4 to 64 characters")
        if card.upper() in seen:
            raise InvalidInput(f"line {line}: card already listed earlier in the file")
        seen.add(card.upper())
        try:
            name = clean_text(data["name"], "name", required=False)
            email = clean_email(data.get("email"), required=False)
        except InvalidInput as exc:
            raise InvalidInput(f"line {line}: {exc}") from None
        rows.append(LocalRow(line, card, name, _date(data["birth_date"], "birth_date", line),
                             _date(data["expires"], "expires", line), pin, email))
    return rows


def import_rows(runtime: Runtime, session: Session, library_code: str, rows: list[LocalRow], *, actor: str = "cli",
                progress=None) -> int:
    """All or nothing; ``progress(done, total)`` is called after each row is checked, then hashed."""
    lib = library(session, library_code)
    if lib.connector != "local":
        raise InvalidInput(f"library '{library_code}' uses the {lib.connector} connector, not local")
    prepared: list[tuple[LocalRow, str, str]] = []
    total = 2 * len(rows)
    for row in rows:
        if progress is not None:
            progress(len(prepared), total)
        normal = normalize_card(row.card, case=lib.card_case)
        digest = card_digest(runtime.keys.cards, lib.code, normal)
        if session.scalar(select(LocalPatron.id).where(LocalPatron.library_id == lib.id,
                                                       LocalPatron.card_digest == digest)) is not None:
            raise Conflict(f"line {row.line}: this card is already a local patron of '{library_code}'")
        prepared.append((row, normal, digest))
    for index, (row, normal, digest) in enumerate(prepared, start=len(prepared) + 1):
        if progress is not None:
            progress(index - 1, total)
        session.add(LocalPatron(library_id=lib.id, card_digest=digest, card_hint=normal[-4:],
                                pin_hash=PIN_HASHER.hash(row.pin), name=row.name, email=row.email,
                                birth_date=row.birth_date, expires=row.expires))
    session.flush()
    if progress is not None:
        progress(total, total)
    audit(runtime, session, actor, "local_patrons.import", library_code, count=len(rows))
    return len(rows)
