"""Fixtures every test directory may use: a real PostgreSQL server (see ``tests/pg.py``), and the
real Ray + Serve service of the integration and browser tests (see ``tests/service.py``; defined
once here so that both directories share one cluster and one deployed app)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.pg import PgServer, start_pg_server
from tests.service import (
    http,
    pytest_collection_modifyitems,
    pytest_generate_tests,
    ray_cluster,
    service,
)

__all__ = [
    "http",
    "pg_server",
    "pg_url",
    "pytest_collection_modifyitems",
    "pytest_generate_tests",
    "ray_cluster",
    "service",
]


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """One PostgreSQL server for the whole test session (started only if a test asks)."""
    server = start_pg_server()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def pg_url(pg_server: PgServer) -> str:
    """The URL of an empty database of its own, for one test."""
    return pg_server.fresh_database()
