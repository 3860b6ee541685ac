"""Fixtures of the scale-out and fault tests: one small cluster for the whole group (see scale/cluster.py)."""

from __future__ import annotations

import pytest

from scale.cluster import Browser, start


@pytest.fixture(scope="session")
def cluster(request, tmp_path_factory):
    # the shared server's test database only when a private PostgreSQL cannot start
    yield from start(tmp_path_factory, lambda: request.getfixturevalue("postgres_url"))


@pytest.fixture
def browser():
    return Browser()
