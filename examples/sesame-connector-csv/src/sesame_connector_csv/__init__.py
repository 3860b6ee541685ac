"""Example Sésame connector: patrons from a CSV or JSON file with hashed PINs."""

from .connector import CsvFileConnector, CsvFileSettings

__all__ = ["CsvFileConnector", "CsvFileSettings"]
