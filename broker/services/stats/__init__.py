"""Monthly usage statistics per network, library and supplier (docs/statistics.md).

- :mod:`.months` — the calendar (``YYYY-MM`` in French local time), checked input;
- :mod:`.aggregate` — ``broker stats aggregate``: raw events → monthly tables;
- :mod:`.figures` — reading the tables back for a library, a network or all;
- :mod:`.exports` — CSV, XLSX and JSON files; :mod:`.counter` — COUNTER R5 shape;
- :mod:`.report` — the yearly report of a partner, for its council.
"""

from __future__ import annotations

from .aggregate import DOUBLE_CLICK, MonthResult, aggregate, aggregate_month
from .figures import MonthFigures, Selection, figures, select_scope, trend
from .months import Month, parse_year

__all__ = ["DOUBLE_CLICK", "Month", "MonthFigures", "MonthResult", "Selection", "aggregate", "aggregate_month",
           "figures", "parse_year", "select_scope", "trend"]
