"""The journal contract on a real PostgreSQL 18 server, then what only PostgreSQL does."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from events import (
    ANY,
    NO_STREAM,
    EventRejected,
    Journal,
    JournalError,
    PostgresJournal,
    SnapshotRecord,
    StorageError,
    VersionConflict,
    open_journal,
)
from events.base import Event
from events.journal import AppendRequest
from events.postgres import SCHEMA_VERSION, split_url
from tests.contracts.journal import DurableJournalContract, HeldAppend, ev
from tests.pg import ENV_URL, PgServer, start_pg_server


def with_options(url: str, **options: object) -> str:
    extra = "&".join(f"{k}={v}" for k, v in options.items())
    return f"{url}{'&' if '?' in url else '?'}{extra}"


class PostgresHeldAppend(HeldAppend):
    """The journal's own append statement on a second connection, inside an open transaction
    (so it holds the table lock and its positions until :meth:`commit`)."""

    def __init__(self, journal: PostgresJournal, url: str, stream_id: str, events: list[Event]):
        self.conn = psycopg.connect(split_url(url)[0], autocommit=True)
        journal._configure(self.conn)
        self.conn.execute("BEGIN")
        p = journal._prepare(AppendRequest(stream_id, events, ANY))
        self.positions = journal._append_on(
            self.conn, p.stream_id, p.rows, p.expected, p.metadata, p.recorded_at
        )

    def commit(self) -> list[int]:
        self.conn.execute("COMMIT")
        self.conn.close()
        return self.positions


class TestPostgresJournal(DurableJournalContract):
    """The default commit mode on PostgreSQL 17+: asynchronous commit, then a WAL flush."""

    commit = "flush"

    @pytest.fixture(autouse=True)
    def _database(self, pg_url: str) -> None:
        self.url = with_options(pg_url, commit=self.commit)

    def journal_url(self) -> str:
        return self.url

    def create_journal(self) -> Journal:
        journal = super().create_journal()
        assert isinstance(journal, PostgresJournal) and journal.commit_mode == self.commit
        return journal

    def hold_append(self, journal: Journal, stream_id: str, events: list[Event]) -> HeldAppend:
        assert isinstance(journal, PostgresJournal)
        return PostgresHeldAppend(journal, self.url, stream_id, events)


class TestPostgresJournalSynchronousCommit(TestPostgresJournal):
    """The mode for older servers and servers with synchronous standbys."""

    commit = "sync"


# ------------------------------------------------------------------------- PostgreSQL only


@pytest.fixture
def journal(pg_url: str) -> Iterator[PostgresJournal]:
    j = PostgresJournal(pg_url)
    yield j
    j.close()


def test_a_held_append_blocks_writers_but_never_readers(
    journal: PostgresJournal, pg_url: str
) -> None:
    """The table lock at work: a second writer waits for the first one's commit, a reader does
    not wait at all (and does not see the uncommitted event)."""
    journal.append("s-0", [ev()])
    held = PostgresHeldAppend(journal, pg_url, "s-1", [ev(1)])
    writer = threading.Thread(target=journal.append, args=("s-2", [ev(2)]))
    writer.start()
    try:
        writer.join(0.5)
        assert writer.is_alive(), "the second writer should wait for the table lock"
        t = time.perf_counter()
        assert [r.global_position for r in journal.read_all()] == [1]
        assert journal.last_position() == 1
        assert time.perf_counter() - t < 0.5
    finally:
        assert held.commit() == [2]
        writer.join(10)
    assert [(r.stream_id, r.global_position) for r in journal.read_all()] == [
        ("s-0", 1),
        ("s-1", 2),
        ("s-2", 3),
    ]


def test_lock_timeout_is_a_retryable_storage_error_without_the_password(pg_url: str) -> None:
    secret_url = pg_url.replace("postgres:@", "postgres:s3cret-pw@", 1)
    assert "s3cret-pw" in secret_url  # the test server trusts local users: any password works
    journal = PostgresJournal(secret_url, lock_timeout=0.2)
    journal.append("s-1", [ev()])
    blocker = psycopg.connect(pg_url)
    blocker.execute("LOCK TABLE journal_events IN ACCESS EXCLUSIVE MODE")
    try:
        with pytest.raises(StorageError) as info:
            journal.append("s-1", [ev()], 1)
        assert info.value.retryable
        assert "lock" in str(info.value)
        assert "s3cret-pw" not in str(info.value) and "***" in str(info.value)
        assert isinstance(info.value.__cause__, psycopg.errors.LockNotAvailable)
    finally:
        blocker.rollback()
        blocker.close()
    assert journal.append("s-1", [ev()], 1) == [2]
    journal.close()


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://avatar:s3cret-pw@127.0.0.1:9/journal",
        "postgres://avatar:s3cret-pw@/journal?host=/nonexistent/socket/dir",
    ],
)
def test_server_down_at_open_is_a_clear_storage_error(url: str) -> None:
    with pytest.raises(StorageError) as info:
        open_journal(url)
    message = str(info.value)
    assert info.value.retryable
    assert "s3cret-pw" not in message
    assert "avatar:***@" in message and "journal" in message
    assert isinstance(info.value.__cause__, psycopg.OperationalError)


def stored_schema_version(url: str) -> str:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT value FROM journal_meta WHERE key = 'schema_version'")
        return str(row.fetchone()[0])  # type: ignore[index]


def test_newer_schema_version_refuses_to_open(pg_url: str) -> None:
    PostgresJournal(pg_url).close()
    assert stored_schema_version(pg_url) == str(SCHEMA_VERSION)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("UPDATE journal_meta SET value = '99' WHERE key = 'schema_version'")
    newer = rf"schema version 99, newer than this code's {SCHEMA_VERSION}"
    with pytest.raises(JournalError, match=newer) as info:
        PostgresJournal(pg_url)
    assert not isinstance(info.value, StorageError) and not info.value.retryable


def test_an_older_schema_is_brought_up_to_date_and_keeps_its_events(pg_url: str) -> None:
    with PostgresJournal(pg_url) as journal:
        journal.append("s-1", [ev(1)])
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("UPDATE journal_meta SET value = '1' WHERE key = 'schema_version'")
    with PostgresJournal(pg_url) as journal:
        assert stored_schema_version(pg_url) == str(SCHEMA_VERSION)
        assert [r.version for r in journal.read("s-1")] == [1]
        assert journal.append("s-1", [ev(2)], 1) == [2]


def test_many_processes_create_the_schema_at_once(pg_url: str) -> None:
    code = (
        "import sys; from events import open_journal; from events.avatar import EmotionSet;"
        " print('ready', flush=True); sys.stdin.readline();"
        " j = open_journal(sys.argv[1]); j.append(sys.argv[2], [EmotionSet(emotion='sad')]);"
        " j.close()"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, pg_url, f"p-{i}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(8)
    ]
    for p in procs:  # every process imported everything: let them all open at once
        assert p.stdout is not None and p.stdout.readline() == "ready\n"
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    for p in procs:
        _, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
    journal = PostgresJournal(pg_url)
    assert journal.stats()["streams"] == 8
    assert [r.global_position for r in journal.read_all()] == list(range(1, 9))
    journal.close()


def test_url_options_reach_the_pool_and_the_query_string_is_kept(pg_url: str) -> None:
    assert "?host=" in pg_url or ENV_URL in os.environ  # pgserver: a unix socket directory
    journal = open_journal(with_options(pg_url, pool_min=0, pool_max=2, lock_timeout=3))
    assert isinstance(journal, PostgresJournal)
    assert (journal.options.pool_min, journal.options.pool_max) == (0, 2)
    assert journal.options.lock_timeout == 3.0
    assert journal.append("s-1", [ev()]) == [1]
    journal.close()


def test_dropped_connections_are_replaced_transparently(
    journal: PostgresJournal, pg_url: str
) -> None:
    journal.append("s-1", [ev()])
    with psycopg.connect(pg_url, autocommit=True) as admin:
        killed = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
        assert killed is not None and killed[0] >= 1
    assert [r.version for r in journal.read("s-1")] == [1]
    assert journal.append("s-1", [ev()], 1) == [2]


def test_append_survives_a_deallocated_statement(pg_url: str) -> None:
    """The append is prepared once per connection; DEALLOCATE ALL (a pooler, a reset) must not
    break it."""
    journal = PostgresJournal(pg_url, pool_min=1, pool_max=1)
    assert journal.append("s-1", [ev()]) == [1]
    journal._run("deallocate", lambda conn: conn.execute("DEALLOCATE ALL"))
    assert journal.append("s-1", [ev()], 1) == [2]
    assert [r.version for r in journal.read("s-1")] == [1, 2]
    journal.close()


class CountingJournal(PostgresJournal):
    """The real journal, counting its round trips to the pool by kind."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.trips: list[str] = []

    def _run(self, what: str, work: Callable[[psycopg.Connection[Any]], Any]) -> Any:
        self.trips.append(what)
        return super()._run(what, work)


def test_a_batch_with_several_refused_appends_reads_their_ids_once(pg_url: str) -> None:
    """Group commit: the refused appends of a batch (conflicts, retries) are told apart by one
    read of all their event ids, not one read each."""
    journal = CountingJournal(pg_url)
    a, b, c = (f"refused-{uuid.uuid4().hex[:8]}-{i}" for i in range(3))
    retried = [ev(1), ev(2)]
    journal.append(a, retried, NO_STREAM)
    journal.append(b, [ev(3)], NO_STREAM)
    journal.trips.clear()
    again, conflict, elsewhere, fine = journal.append_batch(
        [
            AppendRequest(a, retried, NO_STREAM),  # a retry: its original positions
            AppendRequest(b, [ev(4)], NO_STREAM),  # b exists: a conflict
            AppendRequest(c, [retried[0]], NO_STREAM),  # an id recorded in another stream
            AppendRequest(c, [ev(5)], NO_STREAM),
        ]
    )
    trips = list(journal.trips)
    assert again == [r.global_position for r in journal.read(a)]
    assert isinstance(conflict, VersionConflict) and isinstance(elsewhere, EventRejected)
    assert isinstance(fine, list) and len(fine) == 1
    assert trips == ["append", "read"]  # one transaction, then one read for three refusals
    journal.close()


def test_commit_mode_is_flush_on_postgresql_17_and_sync_on_request(pg_url: str) -> None:
    with psycopg.connect(pg_url) as conn:
        version = conn.execute("SHOW server_version_num").fetchone()
    assert version is not None and int(version[0]) >= 170000  # the test server is 18
    journal = PostgresJournal(pg_url)
    assert journal.commit_mode == "flush"
    journal.close()
    journal = open_journal(with_options(pg_url, commit="sync"))
    assert isinstance(journal, PostgresJournal) and journal.commit_mode == "sync"
    journal.close()


def test_an_append_returns_once_its_commit_is_flushed(
    journal: PostgresJournal, pg_url: str
) -> None:
    """Flush mode commits without waiting for the WAL, then flushes it before answering."""
    assert journal.commit_mode == "flush"
    flushed = 0
    with psycopg.connect(pg_url, autocommit=True) as other:
        for v in range(20):
            journal.append("s-1", [ev(v)], v)
            row = other.execute(
                "SELECT pg_current_wal_flush_lsn() >= pg_current_wal_insert_lsn()"
            ).fetchone()
            flushed += bool(row and row[0])
    assert flushed >= 17  # other WAL (autovacuum, a checkpoint) may land in between, rarely


def test_reads_flush_the_wal_before_returning_anything(
    journal: PostgresJournal, pg_url: str
) -> None:
    """In flush mode an append is visible between its commit and its WAL flush; every read
    makes sure the WAL is flushed past what its snapshot saw before it returns a row."""
    assert journal.commit_mode == "flush"
    journal.append("s-1", [ev()])
    reads: list[Callable[[], object]] = [
        lambda: journal.read("s-1"),
        lambda: journal.read_all(0),
        lambda: journal.highest_version("s-1"),
        journal.last_position,
    ]
    with psycopg.connect(pg_url, autocommit=True) as other:
        other.execute("SET synchronous_commit = off")
        other.execute("CREATE TABLE scratch (x int)")
        for read in reads:
            for _ in range(50):  # the WAL writer flushes on its own every 200 ms: race it
                other.execute("INSERT INTO scratch VALUES (1)")  # committed, not yet flushed
                row = other.execute(
                    "SELECT pg_current_wal_insert_lsn(), pg_current_wal_flush_lsn()"
                    " < pg_current_wal_insert_lsn()"
                ).fetchone()
                assert row is not None
                if row[1]:
                    break
            else:
                pytest.fail("could not catch the WAL unflushed")
            read()
            flushed = other.execute("SELECT pg_current_wal_flush_lsn() >= %s", (row[0],))
            assert flushed.fetchone() == (True,), read


def test_bad_data_is_rejected_not_retried(journal: PostgresJournal) -> None:
    with pytest.raises(EventRejected) as info:
        journal.save_snapshot(SnapshotRecord("s-1", 1, "Bad\x00Type", 1, b"x", 1.0))
    assert not info.value.retryable
    assert journal.load_snapshot("s-1") is None


def listener_backend(journal: PostgresJournal, timeout: float = 10) -> int:
    """Start the journal's listener (as a subscription does) and wait until it listens."""
    deadline = time.monotonic() + timeout
    while journal._append_mark() is None:
        assert time.monotonic() < deadline, "the listener never connected"
        time.sleep(0.01)
    assert journal._listener is not None and journal._listener.backend_pid is not None
    return journal._listener.backend_pid


def test_notify_wakes_a_subscriber_long_before_its_poll_interval(
    journal: PostgresJournal,
) -> None:
    listener_backend(journal)
    stop = threading.Event()
    seen: list[tuple[int, float]] = []

    def consume() -> None:
        for record in journal.subscribe(0, poll_interval=30, stop=stop):
            seen.append((record.global_position, time.monotonic()))
            if len(seen) == 2:
                stop.set()

    consumer = threading.Thread(target=consume)
    consumer.start()
    journal.append("s-1", [ev()])
    time.sleep(0.3)  # the subscriber is now waiting (30 s if nobody wakes it)
    appended = time.monotonic()
    journal.append("s-1", [ev()])
    consumer.join(10)
    assert not consumer.is_alive()
    assert [p for p, _ in seen] == [1, 2]
    assert seen[1][1] - appended < 2.0


async def test_notify_wakes_an_async_subscriber(journal: PostgresJournal) -> None:
    await asyncio.to_thread(listener_backend, journal)
    seen: list[int] = []

    async def consume() -> None:
        async for record in journal.subscribe_async(0, poll_interval=30):
            seen.append(record.global_position)
            if len(seen) == 3:
                return

    task = asyncio.create_task(consume())
    await asyncio.to_thread(journal.append, "s-1", [ev()])
    await asyncio.sleep(0.3)
    await asyncio.to_thread(journal.append, "s-1", [ev(), ev()])
    await asyncio.wait_for(task, 5)
    assert seen == [1, 2, 3]


def test_subscriber_polls_while_the_listener_is_down_and_misses_nothing(
    journal: PostgresJournal, pg_url: str
) -> None:
    first_pid = listener_backend(journal)
    stop = threading.Event()
    seen: list[int] = []
    total = 60

    def consume() -> None:
        for record in journal.subscribe(0, poll_interval=0.05, batch_size=7, stop=stop):
            seen.append(record.global_position)
            if len(seen) == total:
                stop.set()

    consumer = threading.Thread(target=consume)
    consumer.start()
    for i in range(total):
        if i == 20:  # cut the listening connection in the middle of the run
            with psycopg.connect(pg_url, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (first_pid,))
        journal.append(f"s-{i % 3}", [ev(i)])
        time.sleep(0.005)
    consumer.join(30)
    assert not consumer.is_alive()
    assert seen == list(range(1, total + 1))  # no gap, no duplicate
    assert listener_backend(journal) != first_pid  # and it listens again by itself


# ------------------------------------------------------------------------- outage


@pytest.fixture
def owned_pg_server(pg_server: PgServer) -> Iterator[PgServer]:
    """A server this session may stop and start: the shared one if it started it, else its
    own throwaway one (when ``AVATAR_TEST_POSTGRES_URL`` names an external server)."""
    if pg_server.owned:
        yield pg_server
        return
    saved = os.environ.pop(ENV_URL)
    try:
        server = start_pg_server()
    finally:
        os.environ[ENV_URL] = saved
    try:
        yield server
    finally:
        server.close()


def test_outage_is_retryable_and_the_journal_recovers_by_itself(
    owned_pg_server: PgServer,
) -> None:
    url = owned_pg_server.fresh_database("outage")
    journal = PostgresJournal(url, pool_timeout=1.0, pool_max=2)
    acked: list[Any] = []
    for v in range(20):
        e = ev(v)
        journal.append("o-1", [e], v)
        acked.append(e.event_id)
    owned_pg_server.stop()
    try:
        for attempt in range(3):
            with pytest.raises(StorageError) as info:
                journal.append("o-1", [ev()], 20)
            assert info.value.retryable, attempt
        with pytest.raises(StorageError):
            journal.read("o-1")
    finally:
        owned_pg_server.start()
    deadline = time.monotonic() + 60
    while True:  # the caller retries, as it would on any StorageError
        try:
            e = ev()
            journal.append("o-1", [e], 20)
            acked.append(e.event_id)
            break
        except StorageError:
            assert time.monotonic() < deadline, "the journal did not recover"
            time.sleep(0.2)
    assert [r.event_id for r in journal.read("o-1")] == acked
    assert journal.append("o-1", [ev()], 21) == [22]
    journal.close()
