"""The csv-file connector passes Sésame's connector contract kit.

This is the walk-through of docs/connectors.md: give the kit a connector and
a few known patrons, and it checks the whole Connector protocol.
"""

from __future__ import annotations

import csv
import json

import pytest
from sesame_connector_csv.connector import COLUMNS, CsvFileConnector, CsvFileSettings
from sesame_connector_csv.pins import hash_pin
from sesame_connector_csv.plugin import broker_connectors

from broker.domain.patrons import CardProblem
from broker.testing import ConnectorContract, KnownPatron

# A low iteration count keeps the tests fast; real files use the default (600,000).
FAST = 1_000

PATRONS = [
    # card, PIN, name, expires, blocked
    ("11110001", "1234", "Alice Durand", "2099-12-31", ""),
    ("11110002", "2222", "Bernard Expiré", "2020-01-31", ""),
    ("11110003", "3333", "Chloé Perdue", "2099-12-31", "lost"),
    ("11110004", "4444", "Damien Bloqué", "2099-12-31", "Amendes"),
]


def write_patrons(path, kind: str = "csv") -> None:
    rows = [
        {"card": card, "pin": hash_pin(pin, iterations=FAST), "name": name, "email": "", "birth_date": "2000-01-01",
         "category": "ADULTE", "expires": expires, "blocked": blocked}
        for card, pin, name, expires, blocked in PATRONS
    ]
    if kind == "json":
        path.write_text(json.dumps(rows), encoding="utf-8")
        return
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


class TestCsvFileConnector(ConnectorContract):
    file_format = "csv"
    unavailable_within = 1.0
    known = KnownPatron("11110001", "1234")
    wrong = "0000"
    unknown = "99990000"
    problems = [
        KnownPatron("11110002", "2222", CardProblem.EXPIRED),
        KnownPatron("11110003", "3333", CardProblem.LOST),
        KnownPatron("11110004", "4444", CardProblem.BLOCKED),
    ]
    spec = broker_connectors()[0]

    @pytest.fixture
    def valid_settings(self, tmp_path):
        path = tmp_path / f"patrons.{self.file_format}"
        write_patrons(path, self.file_format)
        return {"path": str(path)}

    @pytest.fixture
    def connector(self, valid_settings):
        return CsvFileConnector(CsvFileSettings.model_validate(valid_settings))

    @pytest.fixture
    def unreachable_connector(self, tmp_path):
        # For a file-based connector, "unreachable" is a file that is not there.
        return CsvFileConnector(CsvFileSettings(path=str(tmp_path / "missing.csv")))


class TestJsonFileConnector(TestCsvFileConnector):
    file_format = "json"
