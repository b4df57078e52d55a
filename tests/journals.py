"""Real journals for tests that run against every backend.

Each entry opens handles onto one fresh storage: calling the opener again gives another handle on
the same storage, as another process would have (the memory journal can only share itself). To
run these tests on another backend, add its opener here, e.g. for PostgreSQL::

    "postgres": lambda request, tmp: _reopenable(
        lambda: open_journal(request.getfixturevalue("pg_url"))
    ),
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from events import Journal, MemoryJournal, SqliteJournal
from events.journal import Clock

Opener = Callable[[], Journal]
"""Opens another handle on the test's storage."""
Backend = Callable[[pytest.FixtureRequest, Path, Clock], Opener]


def _memory(request: pytest.FixtureRequest, tmp: Path, clock: Clock) -> Opener:
    journal = MemoryJournal(clock=clock)
    return lambda: journal


def _sqlite(request: pytest.FixtureRequest, tmp: Path, clock: Clock) -> Opener:
    path = tmp / "journal.sqlite"
    return lambda: SqliteJournal(path, clock=clock)


JOURNALS: dict[str, Backend] = {"memory": _memory, "sqlite": _sqlite}
