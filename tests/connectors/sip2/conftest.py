"""Fixtures for the SIP2 tests: the sample patron file, running emulators, connectors built against them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from broker.testing.sip2 import running_emulator, sip2_settings
from connectors.sip2.connector import Sip2Connector, Sip2Settings
from connectors.sip2.emulator import RunningEmulator

PATRONS = Path(__file__).with_name("patrons.csv")


@pytest.fixture(scope="session")
def patrons_csv() -> Path:
    return PATRONS


@pytest.fixture(scope="session")
def koha() -> Iterator[RunningEmulator]:
    with running_emulator(PATRONS, flavour="koha") as emulator:
        yield emulator


@pytest.fixture(scope="session")
def evergreen() -> Iterator[RunningEmulator]:
    with running_emulator(PATRONS, flavour="evergreen") as emulator:
        yield emulator


@pytest.fixture
def connect() -> Iterator[Callable[..., Sip2Connector]]:
    """Build connectors to an emulator (settings overridable); closes them after the test."""
    made: list[Sip2Connector] = []

    def build(emulator: RunningEmulator, *, context: Any = None, **overrides: Any) -> Sip2Connector:
        connector = Sip2Connector(Sip2Settings.model_validate(sip2_settings(emulator, **overrides)), context=context)
        made.append(connector)
        return connector

    yield build
    for connector in made:
        connector.close()
