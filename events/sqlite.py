"""SQLite journal: the embedded default.

One database file in WAL mode, ``synchronous=FULL`` unless relaxed, a busy timeout so that many
OS processes (every Ray actor is one) can append to the same file. SQLite has a single writer
(``BEGIN IMMEDIATE``), so rowids are handed out in commit order: ``global_position`` is the rowid,
and a reader can never see a later commit with a lower position. A rolled-back insert does not
consume a rowid, so positions are gap-free to readers.
"""

from __future__ import annotations

import functools
import logging
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from uuid import UUID

from events.codec import EventCodec
from events.errors import EventRejected, JournalError, StorageError, VersionConflict
from events.journal import (
    AppendOutcome,
    Clock,
    ExistingEvent,
    Journal,
    NewEvent,
    PreparedAppend,
)
from events.records import RecordedEvent, SnapshotRecord
from events.sqlite_connections import Synchronous, ThreadConnections, write_transaction
from events.types import Expected, ExpectedVersion

log = logging.getLogger(__name__)

_FORMAT = 1
"""The file's ``PRAGMA user_version``: 1 stores event ids as their 16 bytes (0, the first
version's files, as 36 characters of text: upgraded when opened)."""

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS events (
    global_position INTEGER PRIMARY KEY,
    stream_id       TEXT    NOT NULL,
    version         INTEGER NOT NULL,
    event_id        BLOB    NOT NULL UNIQUE,
    type            TEXT    NOT NULL,
    schema_version  INTEGER NOT NULL,
    recorded_at     REAL    NOT NULL,
    payload         BLOB    NOT NULL,
    metadata        BLOB    NOT NULL,
    UNIQUE (stream_id, version)
)""",
    """CREATE TABLE IF NOT EXISTS stream_deletions (
    stream_id  TEXT PRIMARY KEY,
    deleted_to INTEGER NOT NULL
) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS snapshots (
    stream_id      TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    state_type     TEXT    NOT NULL,
    schema_version INTEGER NOT NULL,
    state          BLOB    NOT NULL,
    created_at     REAL    NOT NULL,
    PRIMARY KEY (stream_id, version)
) WITHOUT ROWID""",
)


def _id_bytes(event_id: str) -> bytes:
    """A text event id (format 0) as its 16 bytes."""
    return UUID(event_id).bytes


_COLUMNS = (
    "global_position, stream_id, version, event_id, type, schema_version, payload, "
    "recorded_at, metadata"
)
_STREAM_COLUMNS = _COLUMNS.replace("stream_id, ", "")


_ROWS_PER_INSERT = 500
"""Rows per INSERT statement (8 parameters each; SQLite allows 32,766 per statement)."""


@functools.lru_cache(maxsize=64)
def _conditional_insert(rows: int) -> str:
    """INSERT of ``rows`` events that happens only where the stream is at the expected version
    (the last two parameters: stream id, version)."""
    values = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?)"] * rows)
    return (
        "INSERT INTO events (stream_id, version, event_id, type, schema_version, recorded_at,"
        f" payload, metadata) SELECT * FROM (VALUES {values})"
        " WHERE (SELECT COALESCE(MAX(version), 0) FROM events WHERE stream_id = ?) = ?"
    )


def _one_statement(p: PreparedAppend) -> bool:
    """``p`` is inserted by one statement with its expectation in it (not ``ANY``, which reads
    the stream's version first)."""
    return p.expected is not ExpectedVersion.ANY and len(p.rows) <= _ROWS_PER_INSERT


class SqliteJournal(Journal):
    """Journal in one SQLite file, safe for many threads and many processes."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        synchronous: Synchronous = "FULL",
        busy_timeout: float = 30.0,
        codec: EventCodec | None = None,
        clock: Clock = time.time,
    ) -> None:
        super().__init__(codec, clock)
        self.path = Path(path)
        self.synchronous = synchronous
        self.busy_timeout = busy_timeout
        self._connections = ThreadConnections(
            self.path, busy_timeout=busy_timeout, synchronous=synchronous
        )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._storage("open"):
            conn = self._conn()
            # Small pages for a new file (an existing one keeps its own): a commit writes one
            # page of each table and index it touches to the WAL and syncs it, and an event row
            # is ~150 bytes. See docs/decisions.md (session 6) for what it measured.
            conn.execute("PRAGMA page_size=1024")
            conn.execute("PRAGMA journal_mode=WAL")
            self._create_or_upgrade(conn)

    def _create_or_upgrade(self, conn: sqlite3.Connection) -> None:
        """Make the tables of a new file; upgrade a file of an older format. One transaction
        under the write lock, so that the processes opening the file at once do it once."""
        if conn.execute("PRAGMA user_version").fetchone()[0] >= _FORMAT:
            return
        with write_transaction(conn):
            if conn.execute("PRAGMA user_version").fetchone()[0] >= _FORMAT:
                return  # another process did it while this one waited for the lock
            for statement in _SCHEMA:
                conn.execute(statement)
            # Format 0 -> 1: text event ids become their 16 bytes (a column declared TEXT
            # stores blobs as they are, so the table itself stays).
            conn.create_function("id_bytes", 1, _id_bytes, deterministic=True)
            upgraded = conn.execute(
                "UPDATE events SET event_id = id_bytes(event_id) WHERE typeof(event_id) = 'text'"
            ).rowcount
            if upgraded:
                log.info("%s: %d event ids stored as 16 bytes (format 1)", self.path, upgraded)
            conn.execute(f"PRAGMA user_version = {_FORMAT}")

    # ------------------------------------------------------------------ connections

    def _conn(self) -> sqlite3.Connection:
        return self._connections.get()

    @contextmanager
    def _storage(self, what: str) -> Iterator[None]:
        """Translate sqlite3's errors into ours."""
        try:
            yield
        except sqlite3.IntegrityError as e:
            raise EventRejected(f"sqlite refused {what}: {e}") from e
        except sqlite3.Error as e:
            raise StorageError(f"sqlite failed to {what} ({self.path}): {e}") from e

    def close(self) -> None:
        self._connections.close_all()

    # ------------------------------------------------------------------ writing

    def _append(
        self,
        stream_id: str,
        rows: list[NewEvent],
        expected: Expected,
        metadata: bytes,
        recorded_at: float,
    ) -> list[int]:
        [outcome] = self._append_batch(
            [PreparedAppend(stream_id, rows, expected, metadata, recorded_at)]
        )
        if isinstance(outcome, JournalError):
            raise outcome
        return outcome

    def _append_batch(self, batch: list[PreparedAppend]) -> list[AppendOutcome]:
        """One write transaction (one fsync) for the whole batch. A conflict or a rejection fails
        that append only: it is found before its insert, or its insert is rolled back to the
        savepoint taken just before it."""
        with self._storage("append"):
            conn = self._conn()
            if len(batch) == 1 and _one_statement(batch[0]):
                return [self._insert_alone(conn, batch[0])]
            outcomes: list[AppendOutcome] = []
            with write_transaction(conn):
                for p in batch:
                    try:  # a refused append wrote nothing (_insert undoes its own insert)
                        outcomes.append(self._insert(conn, p))
                    except (VersionConflict, EventRejected) as e:
                        outcomes.append(e)
        return outcomes

    def _insert_alone(self, conn: sqlite3.Connection, p: PreparedAppend) -> AppendOutcome:
        """An append on its own, in a single statement that is its own transaction: its write
        lock is taken when the statement starts (as ``BEGIN IMMEDIATE`` would), its check and its
        insert are one atomic step, and its commit is durable. Two round trips fewer than
        begin-insert-commit, the common case of a quiet host."""
        version = 0 if p.expected is ExpectedVersion.NO_STREAM else p.expected
        assert isinstance(version, int)
        last = self._insert_rows(conn, p, p.rows, version)
        if last is not None:
            return list(range(last - len(p.rows) + 1, last + 1))
        try:  # refused: what is recorded tells a conflict from a retry (it only grows)
            return self._refused(conn, p)
        except (VersionConflict, EventRejected) as e:
            return e

    def _insert(self, conn: sqlite3.Connection, p: PreparedAppend) -> list[int]:
        """Check ``p``'s expectation and insert its rows, inside the caller's transaction.
        Returns the positions (a recognised retry: the original ones) or raises.

        One statement does both: it inserts the rows only where the stream's version is the
        expected one (the caller holds SQLite's write lock, so nothing moves in between), and a
        statement that fails on a recorded event id undoes itself. So an append costs one
        statement, not a read, a savepoint, an insert and a release (it matters in a group
        commit, where many appends share one transaction).
        """
        if p.expected is ExpectedVersion.ANY:
            current = self._highest(conn, p.stream_id)
        else:
            current = 0 if p.expected is ExpectedVersion.NO_STREAM else p.expected
        chunks = [p.rows[i : i + _ROWS_PER_INSERT] for i in range(0, len(p.rows), _ROWS_PER_INSERT)]
        if len(chunks) > 1:  # several statements: undo the first ones if a later one fails
            conn.execute("SAVEPOINT long_append")
        last: int | None = None
        version = current
        for chunk in chunks:
            last = self._insert_rows(conn, p, chunk, version)
            if last is None:
                break
            version += len(chunk)
        if len(chunks) > 1:
            if last is None:
                conn.execute("ROLLBACK TO long_append")
            conn.execute("RELEASE long_append")
        if last is None:  # refused: an unexpected version, or a recorded event id
            return self._refused(conn, p)
        return list(range(last - len(p.rows) + 1, last + 1))

    def _refused(self, conn: sqlite3.Connection, p: PreparedAppend) -> list[int]:
        """After ``p``'s insert was refused: the original positions of a retry, or raises."""
        current = self._highest(conn, p.stream_id)
        existing = self._existing(conn, p.rows)
        return self._resolve_retry(p.stream_id, p.rows, p.expected, current, existing)

    @staticmethod
    def _insert_rows(
        conn: sqlite3.Connection, p: PreparedAppend, rows: list[NewEvent], version: int
    ) -> int | None:
        """Insert ``rows`` after ``version`` if the stream is at ``version``; the last rowid, or
        ``None`` when nothing was inserted."""
        params: list[object] = []
        for i, r in enumerate(rows):
            params += (
                p.stream_id,
                version + i + 1,
                r.event_id.bytes,
                r.type,
                r.schema_version,
                p.recorded_at,
                r.payload,
                p.metadata,
            )
        params += (p.stream_id, version)
        try:
            inserted = conn.execute(_conditional_insert(len(rows)), params)
        except sqlite3.IntegrityError:
            return None  # an event id is already recorded: a retry, or a bad batch
        if inserted.rowcount != len(rows):
            return None
        return inserted.lastrowid

    @staticmethod
    def _highest(conn: sqlite3.Connection, stream_id: str) -> int:
        row = conn.execute(
            "SELECT MAX(version) FROM events WHERE stream_id = ?", (stream_id,)
        ).fetchone()
        return int(row[0] or 0)

    @staticmethod
    def _existing(conn: sqlite3.Connection, rows: list[NewEvent]) -> list[ExistingEvent]:
        marks = ",".join("?" * len(rows))
        found = conn.execute(
            "SELECT event_id, stream_id, version, global_position FROM events"
            f" WHERE event_id IN ({marks})",
            [r.event_id.bytes for r in rows],
        ).fetchall()
        return [ExistingEvent(UUID(bytes=eid), *rest) for eid, *rest in found]

    # ------------------------------------------------------------------ reading

    def _records(
        self, sql: str, params: tuple[object, ...], stream_id: str | None = None
    ) -> list[RecordedEvent]:
        """Run a SELECT of ``_COLUMNS`` (without ``stream_id`` when it is given) into records."""
        with self._storage("read"):
            rows = self._conn().execute(sql, params).fetchall()
        return self._records_of(rows, stream_id)

    def _read(
        self, stream_id: str, from_version: int, to_version: int | None, max_count: int | None
    ) -> list[RecordedEvent]:
        sql = (
            f"SELECT {_STREAM_COLUMNS} FROM events WHERE stream_id = ? AND version >= ?"
            " AND version > COALESCE("
            "(SELECT deleted_to FROM stream_deletions WHERE stream_id = ?), 0)"
        )
        params: tuple[object, ...] = (stream_id, from_version, stream_id)
        if to_version is not None:
            sql += " AND version <= ?"
            params += (to_version,)
        sql += " ORDER BY version LIMIT ?"
        params += (-1 if max_count is None else max_count,)
        return self._records(sql, params, stream_id)

    def highest_version(self, stream_id: str) -> int:
        with self._storage("read"):
            return self._highest(self._conn(), stream_id)

    def delete_up_to(self, stream_id: str, version: int) -> None:
        with self._storage("delete"), write_transaction(self._conn()) as conn:
            upto = min(version, self._highest(conn, stream_id))
            conn.execute(
                "INSERT INTO stream_deletions (stream_id, deleted_to) VALUES (?, ?)"
                " ON CONFLICT (stream_id) DO UPDATE"
                " SET deleted_to = MAX(deleted_to, excluded.deleted_to)",
                (stream_id, upto),
            )

    def read_all(self, after_position: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        if limit <= 0:
            return []
        return self._records(
            f"SELECT {_COLUMNS} FROM events WHERE global_position > ?"
            " ORDER BY global_position LIMIT ?",
            (after_position, limit),
        )

    def read_heads(self, after_position: int = 0, limit: int = 1000) -> list[tuple[int, str]]:
        if limit <= 0:
            return []
        with self._storage("read"):
            rows = (
                self._conn()
                .execute(
                    "SELECT global_position, stream_id FROM events WHERE global_position > ?"
                    " ORDER BY global_position LIMIT ?",
                    (after_position, limit),
                )
                .fetchall()
            )
        return [(int(pos), str(sid)) for pos, sid in rows]

    def last_position(self) -> int:
        with self._storage("read"):
            row = self._conn().execute("SELECT MAX(global_position) FROM events").fetchone()
        return int(row[0] or 0)

    def stats(self) -> dict[str, int]:
        with self._storage("read"):
            conn = self._conn()
            events = conn.execute("SELECT MAX(global_position) FROM events").fetchone()[0]
            streams = conn.execute("SELECT COUNT(DISTINCT stream_id) FROM events").fetchone()[0]
            snaps = conn.execute("SELECT COUNT(*) FROM snapshots").fetchone()[0]
        return {"streams": int(streams), "events": int(events or 0), "snapshots": int(snaps)}

    # ------------------------------------------------------------------ snapshots

    def save_snapshot(self, snapshot: SnapshotRecord, keep: int | None = None) -> None:
        if snapshot.version < 1:
            raise EventRejected("a snapshot needs a version >= 1")
        s = snapshot
        with self._storage("save a snapshot"), write_transaction(self._conn()) as conn:
            conn.execute(
                "INSERT OR REPLACE INTO snapshots (stream_id, version, state_type,"
                " schema_version, state, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (s.stream_id, s.version, s.state_type, s.schema_version, s.state, s.created_at),
            )
            if keep is not None and keep >= 1:
                conn.execute(
                    "DELETE FROM snapshots WHERE stream_id = ? AND version NOT IN"
                    " (SELECT version FROM snapshots WHERE stream_id = ?"
                    "  ORDER BY version DESC LIMIT ?)",
                    (s.stream_id, s.stream_id, keep),
                )

    def load_snapshot(
        self, stream_id: str, max_version: int | None = None
    ) -> SnapshotRecord | None:
        with self._storage("load a snapshot"):
            row = (
                self._conn()
                .execute(
                    "SELECT stream_id, version, state_type, schema_version, state, created_at"
                    " FROM snapshots WHERE stream_id = ? AND version <= ?"
                    " ORDER BY version DESC LIMIT 1",
                    (stream_id, max_version if max_version is not None else 2**62),
                )
                .fetchone()
            )
        return SnapshotRecord(*row) if row else None

    def delete_snapshots(self, stream_id: str, max_version: int | None = None) -> None:
        with self._storage("delete snapshots"):
            self._conn().execute(
                "DELETE FROM snapshots WHERE stream_id = ? AND version <= ?",
                (stream_id, max_version if max_version is not None else 2**62),
            )
