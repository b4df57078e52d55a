"""Fixtures every test directory may use: a fake clock, real journals of every backend
(``tests/journals.py``), a real PostgreSQL server (``tests/pg.py``), and the real Ray + Serve
service of the integration and browser tests (``tests/service.py``; defined once here so that
both directories share one cluster and one deployed app)."""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from events import Journal
from tests.fakes import Clock
from tests.journals import JOURNALS, Opener
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


@pytest.fixture
def clock() -> Clock:
    return Clock(1_700_000_000.0)


@pytest.fixture(params=sorted(JOURNALS))
def open_journal_handle(
    request: pytest.FixtureRequest, tmp_path: Path, clock: Clock
) -> Iterator[Opener]:
    """Opens handles onto one fresh storage of each backend in turn (journal clock: ``clock``);
    every handle opened is closed after the test."""
    opener = JOURNALS[request.param](request, tmp_path, clock)
    opened: list[Journal] = []

    def open_handle() -> Journal:
        journal = opener()
        opened.append(journal)
        return journal

    yield open_handle
    for journal in opened:
        journal.close()


@pytest.fixture
def any_journal(open_journal_handle: Opener) -> Journal:
    """A real journal of each backend in turn."""
    return open_journal_handle()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Generator[None, pytest.TestReport, None]:
    """Under ``CI=true`` a skipped test fails: CI installs every component, so a skip there
    hides a test that did not run."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") == "true" and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true (every component is installed): {report.longrepr}"
