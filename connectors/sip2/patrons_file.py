"""The SIP2 emulator's patron file: CSV ``card,password,name,email,birth_date,category,expires,blocked``."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from pathlib import Path

COLUMNS = ("card", "password", "name", "email", "birth_date", "category", "expires", "blocked")


class PatronFileError(ValueError):
    """The patron file cannot be used; the message (French, for the operator) names the file, line and column."""


@dataclass(frozen=True, slots=True)
class EmulatedPatron:
    """One patron as the emulated SIGB holds it (``blocked`` is empty or a reason; ``lost`` marks a lost card)."""

    card: str
    password: str
    name: str = ""
    email: str = ""
    birth_date: date | None = None
    category: str = ""
    expires: date | None = None
    blocked: str = ""

    @property
    def lost(self) -> bool:
        return self.blocked.strip().lower() in {"lost", "perdue", "carte perdue"}

    def expired(self, today: date) -> bool:
        return self.expires is not None and self.expires < today


def _date(value: str, where: str) -> date | None:
    value = value.strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise PatronFileError(f"{where} : {value!r} n'est pas une date ISO (AAAA-MM-JJ)") from None


def load_patrons(path: str | Path) -> dict[str, EmulatedPatron]:
    """Read a patron file; raise PatronFileError with a precise message when it is unusable."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return parse_patrons(handle.read().splitlines(), str(path))
    except OSError as exc:
        raise PatronFileError(f"{path} : lecture impossible ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise PatronFileError(f"{path} : ce n'est pas un fichier texte UTF-8") from None


def parse_patrons(lines: list[str], source: str = "<patrons>") -> dict[str, EmulatedPatron]:
    """Parse the lines of a patron file (header first)."""
    reader = csv.reader(lines)
    try:
        header = [name.strip().lower() for name in next(reader)]
    except StopIteration:
        raise PatronFileError(f"{source} : fichier vide, en-tête attendu {','.join(COLUMNS)}") from None
    except csv.Error as exc:
        raise PatronFileError(f"{source}, ligne 1 : {exc}") from None
    missing = [name for name in COLUMNS[:2] if name not in header]
    if missing:
        raise PatronFileError(f"{source}, ligne 1 : colonne(s) manquante(s) {', '.join(missing)} ; attendu {','.join(COLUMNS)}")
    unknown = [name for name in header if name not in COLUMNS]
    if unknown:
        raise PatronFileError(f"{source}, ligne 1 : colonne(s) inconnue(s) {', '.join(unknown)} ; attendu {','.join(COLUMNS)}")
    patrons: dict[str, EmulatedPatron] = {}
    try:
        for row in reader:
            line = reader.line_num
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise PatronFileError(f"{source}, ligne {line} : {len(row)} valeurs pour {len(header)} colonnes")
            values = dict(zip(header, (cell.strip() for cell in row)))
            card = values["card"]
            if not card:
                raise PatronFileError(f"{source}, ligne {line} : numéro de carte vide")
            if card in patrons:
                raise PatronFileError(f"{source}, ligne {line} : numéro de carte déjà présent plus haut")
            where = f"{source}, ligne {line}"
            patrons[card] = EmulatedPatron(
                card=card,
                password=values["password"],
                name=values.get("name", ""),
                email=values.get("email", ""),
                birth_date=_date(values.get("birth_date", ""), f"{where}, birth_date"),
                category=values.get("category", ""),
                expires=_date(values.get("expires", ""), f"{where}, expires"),
                blocked=values.get("blocked", ""),
            )
    except csv.Error as exc:
        raise PatronFileError(f"{source}, ligne {reader.line_num} : {exc}") from None
    return patrons
