import sqlite3
from pathlib import Path

import pytest

from events import ANY, Journal, SqliteJournal
from events.base import Event
from events.journal import AppendRequest
from tests.contracts.journal import DurableJournalContract, HeldAppend


class SqliteHeldAppend(HeldAppend):
    """The journal's own insert on a second connection, inside an open ``BEGIN IMMEDIATE``."""

    def __init__(self, journal: SqliteJournal, stream_id: str, events: list[Event]) -> None:
        self.conn = sqlite3.connect(journal.path, isolation_level=None, timeout=30)
        self.conn.execute("BEGIN IMMEDIATE")
        prepared = journal._prepare(AppendRequest(stream_id, events, ANY))
        self.positions = journal._insert(self.conn, prepared)

    def commit(self) -> list[int]:
        self.conn.execute("COMMIT")
        self.conn.close()
        return self.positions


class TestSqliteJournal(DurableJournalContract):
    @pytest.fixture(autouse=True)
    def _tmp(self, tmp_path: Path) -> None:
        self.path = tmp_path / "journal.sqlite"

    def journal_url(self) -> str:
        return f"sqlite:///{self.path}"

    def hold_append(self, journal: Journal, stream_id: str, events: list[Event]) -> HeldAppend:
        assert isinstance(journal, SqliteJournal)
        return SqliteHeldAppend(journal, stream_id, events)


# Backend-specific: sqlite3's errors come out as ours.


def test_locked_database_is_a_retryable_storage_error(tmp_path: Path) -> None:
    import sqlite3

    from events import SqliteJournal, StorageError
    from events.avatar import EmotionSet

    journal = SqliteJournal(tmp_path / "j.db", busy_timeout=0.1)
    blocker = sqlite3.connect(tmp_path / "j.db", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StorageError) as info:
            journal.append("s-1", [EmotionSet(emotion="sad")])
        assert info.value.retryable
        assert isinstance(info.value.__cause__, sqlite3.OperationalError)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert journal.append("s-1", [EmotionSet(emotion="sad")]) == [1]
    journal.close()


def test_corrupt_file_is_a_storage_error(tmp_path: Path) -> None:
    from events import SqliteJournal, StorageError

    path = tmp_path / "j.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StorageError, match=r"j\.db"):
        SqliteJournal(path)


def test_wal_and_full_sync_by_default(tmp_path: Path) -> None:
    from events import SqliteJournal

    journal = SqliteJournal(tmp_path / "j.db")
    conn = journal._conn()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    journal.close()


_FORMAT_0 = """
CREATE TABLE events (
    global_position INTEGER PRIMARY KEY,
    stream_id       TEXT    NOT NULL,
    version         INTEGER NOT NULL,
    event_id        TEXT    NOT NULL UNIQUE,
    type            TEXT    NOT NULL,
    schema_version  INTEGER NOT NULL,
    recorded_at     REAL    NOT NULL,
    payload         BLOB    NOT NULL,
    metadata        BLOB    NOT NULL,
    UNIQUE (stream_id, version)
);
"""


def test_a_file_of_format_0_is_upgraded_and_keeps_its_events(tmp_path: Path) -> None:
    """The first version's files stored event ids as text: opened now, they are rewritten as 16
    bytes, the events read back the same, and a retry of an old append is still recognised."""
    from events import SqliteJournal
    from events.avatar import EmotionSet
    from events.codec import default_codec

    path = tmp_path / "old.db"
    old = [EmotionSet(emotion="sad"), EmotionSet(emotion="happy", intensity=0.5)]
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript(_FORMAT_0)
    for version, e in enumerate(old, start=1):
        type_name, schema_version, payload = default_codec.encode(e)
        conn.execute(
            "INSERT INTO events (stream_id, version, event_id, type, schema_version,"
            " recorded_at, payload, metadata) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            ("s-1", version, str(e.event_id), type_name, schema_version, 1.0, payload, b""),
        )
    conn.close()

    journal = SqliteJournal(path)
    stored = journal._conn().execute("SELECT typeof(event_id), length(event_id) FROM events")
    assert stored.fetchall() == [("blob", 16), ("blob", 16)]
    assert journal._conn().execute("PRAGMA user_version").fetchone()[0] == 1
    assert [r.event for r in journal.read("s-1")] == old
    assert journal.append("s-1", old, 0) == [1, 2]  # a retry: the original positions
    assert journal.append("s-1", [EmotionSet(emotion="neutral")], 2) == [3]
    journal.close()

    again = SqliteJournal(path)  # a second open finds it upgraded and leaves it as it is
    assert [r.version for r in again.read("s-1")] == [1, 2, 3]
    again.close()
