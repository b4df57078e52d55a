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
