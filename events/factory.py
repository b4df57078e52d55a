"""Open a journal from a URL: ``memory://``, ``sqlite:///relative.db``, ``sqlite:////abs.db``,
``postgresql://user:password@host:5432/db`` (or ``postgres://``).

SQLite options go in the query string: ``?synchronous=NORMAL&busy_timeout=10``. A PostgreSQL
URL keeps libpq's own query parameters (``?host=/socket/dir``, ``sslmode=...``) and may add ours:
``pool_min``, ``pool_max``, ``pool_timeout``, ``lock_timeout`` (see :class:`PostgresJournal`).
"""

from __future__ import annotations

from typing import cast
from urllib.parse import parse_qs, urlsplit

from events.journal import Journal
from events.memory import MemoryJournal
from events.postgres import PostgresJournal
from events.sqlite import SqliteJournal
from events.sqlite_connections import Synchronous


def open_journal(url: str) -> Journal:
    """Return the journal that ``url`` names. Raises ``ValueError`` for an unknown scheme."""
    parts = urlsplit(url)
    options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    if parts.scheme == "memory":
        return MemoryJournal()
    if parts.scheme == "sqlite":
        path = url.split("?", 1)[0][len("sqlite:///") :]
        if not url.startswith("sqlite:///") or not path:
            raise ValueError(f"a SQLite journal URL looks like sqlite:///path/to.db, got {url!r}")
        synchronous = options.get("synchronous", "FULL").upper()
        if synchronous not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise ValueError(f"bad synchronous={synchronous!r} in {url!r}")
        return SqliteJournal(
            path,
            synchronous=cast(Synchronous, synchronous),
            busy_timeout=float(options.get("busy_timeout", 30)),
        )
    if parts.scheme in ("postgres", "postgresql"):
        return PostgresJournal(url)
    raise ValueError(
        f"unknown journal URL scheme {parts.scheme!r} (memory://, sqlite:///..., postgresql://...)"
    )
