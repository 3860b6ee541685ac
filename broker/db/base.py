"""The declarative base every table module builds on, and the default time of their rows.

Table modules (``models``, ``staff_models``, ``stats_models``…) import from
here, never from one another's modules, so that none imports in a cycle;
``broker.db.models`` imports them all, so that importing it registers every
table on :class:`Base`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[str]: JSON}


def _now(context) -> datetime:
    """A row's default time stamp, by the clock of the runtime that writes it (SQLAlchemy passes ``context``)."""
    from . import clock_of

    return clock_of(context.root_connection.engine).utcnow()
