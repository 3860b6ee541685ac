"""The example plugin package installs like any third-party plugin, is found through the
``broker`` entry point group, and passes the connector contract kit."""

from __future__ import annotations

import csv
import importlib
import importlib.metadata
from pathlib import Path

import pluggy
import pytest

from broker.domain.connectors import ConnectorSpec
from broker.domain.patrons import CardProblem
from broker.testing import ConnectorContract, KnownPatron

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sesame-connector-csv"
DISTRIBUTION = "sesame-connector-csv"
ENTRY_POINT = PACKAGE = "sesame_connector_csv"


@pytest.fixture(scope="session")
def installed_example(install_example) -> None:
    """pip-install examples/sesame-connector-csv into this interpreter's environment when needed."""
    install_example(EXAMPLE, DISTRIBUTION, PACKAGE)


@pytest.fixture(scope="session")
def plugin_spec(installed_example) -> ConnectorSpec:
    """The connector spec, reached only through the entry point, as Sésame's plugin manager does."""
    manager = pluggy.PluginManager("broker")
    manager.load_setuptools_entrypoints("broker", name=ENTRY_POINT)
    specs = [spec for specs in manager.hook.broker_connectors() for spec in specs]
    assert [spec.name for spec in specs] == ["csv-file"]
    return specs[0]


def test_the_plugin_is_declared_in_the_broker_entry_point_group(installed_example) -> None:
    found = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="broker")}
    assert found.get(ENTRY_POINT) == "sesame_connector_csv.plugin"


def test_the_plugin_is_installed_not_imported_from_the_source_tree(installed_example) -> None:
    module = importlib.import_module("sesame_connector_csv")
    assert EXAMPLE not in Path(module.__file__).resolve().parents


def test_sesame_plugin_manager_offers_the_connector_next_to_the_built_ins(installed_example) -> None:
    manager_module = pytest.importorskip("broker.plugins.manager")
    manager = manager_module.make_plugin_manager()
    connectors = manager_module.collect_named(manager, "broker_connectors", "connector")
    assert "csv-file" in connectors and "sip2" in connectors
    disabled = manager_module.make_plugin_manager(disabled=[ENTRY_POINT])
    assert "csv-file" not in manager_module.collect_named(disabled, "broker_connectors", "connector")


def test_the_plugin_offers_a_typed_settings_model(plugin_spec) -> None:
    assert plugin_spec.description
    with pytest.raises(Exception, match="colour"):
        plugin_spec.settings_model.model_validate({"path": "x.csv", "colour": "blue"})


class TestInstalledCsvPlugin(ConnectorContract):
    unavailable_within = 1.0
    known = KnownPatron("card0001", "1234")  # typed in lower case, without the dash
    wrong = "1235"
    unknown = "CARD-9999"
    problems = [
        KnownPatron("CARD-0002", "2222", CardProblem.EXPIRED),
        KnownPatron("CARD-0003", "3333", CardProblem.LOST),
        KnownPatron("CARD-0004", "4444", CardProblem.BLOCKED),
    ]

    @pytest.fixture
    def valid_settings(self, tmp_path, plugin_spec):
        from sesame_connector_csv.pins import hash_pin

        path = tmp_path / "patrons.csv"
        rows = [
            ("CARD-0001", "1234", "2099-12-31", ""),
            ("CARD-0002", "2222", "2021-06-30", ""),
            ("CARD-0003", "3333", "2099-12-31", "lost"),
            ("CARD-0004", "4444", "2099-12-31", "Retards"),
        ]
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["card", "pin", "name", "email", "birth_date", "category", "expires", "blocked"])
            for card, pin, expires, blocked in rows:
                writer.writerow([card, hash_pin(pin, iterations=1000), "Usager", "", "", "", expires, blocked])
        return {"path": str(path), "card_case": "upper"}

    @pytest.fixture
    def connector_spec(self, plugin_spec):
        return plugin_spec

    @pytest.fixture
    def connector(self, plugin_spec, valid_settings):
        return plugin_spec.factory(plugin_spec.settings_model.model_validate(valid_settings))

    @pytest.fixture
    def unreachable_connector(self, plugin_spec, tmp_path):
        return plugin_spec.factory(plugin_spec.settings_model.model_validate({"path": str(tmp_path / "gone.csv")}))
