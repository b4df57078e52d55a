"""Fixtures every test directory may use: a real PostgreSQL server (see ``tests/pg.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.pg import PgServer, start_pg_server


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
