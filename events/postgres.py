"""PostgreSQL journal: the cluster backend (psycopg 3 and a small ``psycopg_pool`` pool).

Global order (see ``docs/decisions.md``, "PostgreSQL journal"): an append is one round trip to
the server-side function ``journal_append``, which takes ``LOCK TABLE journal_events IN
EXCLUSIVE MODE``, checks the expected version and inserts the batch at ``max(global_position) +
1 ...``. Writers therefore serialise and commit in position order; readers take ``ACCESS SHARE``
and never wait; a rolled-back or killed append leaves no hole, because nothing was committed and
the next writer computes ``max + 1`` again. A reader tailing ``read_all(after_position)`` can
never see a position while a lower one is still to commit. The lock is held only while the
server runs that one statement, never while it waits for a client.

Durability (``commit=flush``, the default on PostgreSQL 17+): the procedure
``journal_append_flushed`` commits that function's transaction without waiting for the WAL
flush (so the lock is released at once and concurrent writers share fsyncs), then flushes the
WAL past it before answering. Every read of events calls ``journal_flushed()`` once after its
snapshot, so no read returns an event a crash could still take back. ``commit=sync`` (chosen
automatically for older servers and servers with synchronous standbys) is an ordinary
synchronous commit.

Subscriptions wake on ``LISTEN journal_events`` (the function notifies inside the append
transaction; the payload is informative only, readers catch up by position) and fall back to
polling while the listening connection is down.

Errors: psycopg's exceptions never leave this module. An integrity or data error is an
:class:`EventRejected`; everything else (connection lost, server down, lock or statement timeout,
serialization failure, pool exhausted) is a retryable :class:`StorageError`. Messages name the URL
without its password.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import struct
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar, cast
from urllib.parse import parse_qsl, urlsplit
from uuid import UUID

import psycopg
from psycopg import errors as pg_errors
from psycopg import pq
from psycopg.types.numeric import Int8BinaryDumper, Int8Dumper
from psycopg_pool import ConnectionPool

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
from events.types import ANY, NO_STREAM, Expected
from events.urls import passwords_in, redact_url

log = logging.getLogger(__name__)

T = TypeVar("T")

SCHEMA_VERSION = 2
"""The version of the tables and function below; a database with a newer one is refused, an
older one gets the statements below again (they are idempotent; 2: the append refuses a
recorded event id by its result instead of an error, so batches need no savepoints)."""

CHANNEL = "journal_events"
_SCHEMA_LOCK = 0x6A6F75726E616C  # advisory lock key ("journal") taken while creating the schema
_MAX_VERSION = 2**62

_DDL = (
    """
    CREATE TABLE IF NOT EXISTS journal_meta (
        key   text PRIMARY KEY,
        value text NOT NULL
    )""",
    """
    CREATE TABLE IF NOT EXISTS journal_events (
        global_position bigint           PRIMARY KEY,
        stream_id       text             NOT NULL,
        version         bigint           NOT NULL,
        event_id        uuid             NOT NULL UNIQUE,
        type            text             NOT NULL,
        schema_version  integer          NOT NULL,
        recorded_at     double precision NOT NULL,
        payload         bytea            NOT NULL,
        metadata        bytea            NOT NULL,
        UNIQUE (stream_id, version)
    )""",
    """
    CREATE TABLE IF NOT EXISTS journal_deletions (
        stream_id  text   PRIMARY KEY,
        deleted_to bigint NOT NULL
    )""",
    """
    CREATE TABLE IF NOT EXISTS journal_snapshots (
        stream_id      text             NOT NULL,
        version        bigint           NOT NULL,
        state_type     text             NOT NULL,
        schema_version integer          NOT NULL,
        state          bytea            NOT NULL,
        created_at     double precision NOT NULL,
        PRIMARY KEY (stream_id, version)
    )""",
    f"""
    CREATE OR REPLACE FUNCTION journal_append(
        p_stream text, p_expected bigint, p_ids uuid[], p_types text[],
        p_schema_versions integer[], p_payloads bytea[], p_recorded_at double precision,
        p_metadata bytea, OUT first_position bigint, OUT current_version bigint)
    LANGUAGE plpgsql AS $$
    DECLARE
        last_position bigint;
    BEGIN
        -- Writers serialise on this lock until their (implicit) commit; readers take ACCESS
        -- SHARE and never wait. Positions are max + 1, so they are handed out in commit order
        -- and an append that rolls back leaves no hole. Each statement below takes a fresh
        -- snapshot (VOLATILE, READ COMMITTED), so it sees every append committed before the lock.
        LOCK TABLE journal_events IN EXCLUSIVE MODE;
        SELECT coalesce(max(version), 0) INTO current_version
            FROM journal_events WHERE stream_id = p_stream;
        IF p_expected IS NOT NULL AND p_expected <> current_version THEN
            RETURN;  -- a version conflict: first_position stays NULL, nothing is written
        END IF;
        IF EXISTS (SELECT 1 FROM journal_events WHERE event_id = ANY(p_ids)) THEN
            RETURN;  -- a recorded event id (a retry, or a bad batch): the caller finds out which
        END IF;
        SELECT coalesce(max(global_position), 0) INTO last_position FROM journal_events;
        INSERT INTO journal_events (global_position, stream_id, version, event_id, type,
                                    schema_version, recorded_at, payload, metadata)
        SELECT last_position + u.n, p_stream, current_version + u.n, u.id, u.type, u.sv,
               p_recorded_at, u.payload, p_metadata
        FROM unnest(p_ids, p_types, p_schema_versions, p_payloads)
             WITH ORDINALITY AS u(id, type, sv, payload, n);
        PERFORM pg_notify('{CHANNEL}', (last_position + cardinality(p_ids))::text);
        first_position := last_position + 1;
    END
    $$""",
    """
    CREATE OR REPLACE PROCEDURE journal_append_flushed(
        p_stream text, p_expected bigint, p_ids uuid[], p_types text[],
        p_schema_versions integer[], p_payloads bytea[], p_recorded_at double precision,
        p_metadata bytea, INOUT first_position bigint, INOUT current_version bigint)
    LANGUAGE plpgsql AS $$
    BEGIN
        -- The same append, committed without waiting for the WAL flush, so that the table
        -- lock is released at once and the next writer's flush can share this one's fsync.
        -- Then the WAL is flushed (up to past this commit) before the caller hears back.
        -- Readers never see the events before that flush: see journal_flushed().
        PERFORM set_config('synchronous_commit', 'off', true);
        SELECT a.first_position, a.current_version INTO first_position, current_version
            FROM journal_append(p_stream, p_expected, p_ids, p_types, p_schema_versions,
                                p_payloads, p_recorded_at, p_metadata) AS a;
        COMMIT;
        IF first_position IS NOT NULL THEN
            PERFORM pg_logical_emit_message(false, 'journal', ''::bytea, true);
        END IF;
    END
    $$""",
    """
    CREATE OR REPLACE FUNCTION journal_flushed() RETURNS boolean
    LANGUAGE plpgsql VOLATILE AS $$
    BEGIN
        -- Called once by every read after its snapshot was taken: everything that snapshot
        -- sees was committed before the current WAL insert position, so once the WAL is
        -- flushed up to there, no event a read returns can be lost by a crash.
        IF pg_current_wal_flush_lsn() < pg_current_wal_insert_lsn() THEN
            PERFORM pg_logical_emit_message(false, 'journal', ''::bytea, true);
        END IF;
        RETURN true;
    END
    $$""",
)

# Reads of events carry a {durable} slot: in flush mode it calls journal_flushed() once, as an
# uncorrelated subquery (an InitPlan), after the statement's snapshot and before any row leaves.
_DURABLE = " AND (SELECT journal_flushed())"
_EXISTING = (
    "SELECT event_id, stream_id, version, global_position FROM journal_events"
    " WHERE event_id = ANY(%s::uuid[]){durable}"
)
_HIGHEST = "SELECT coalesce(max(version), 0) FROM journal_events WHERE stream_id = %s{durable}"
_READ = (
    "SELECT global_position, version, event_id, type, schema_version, payload, recorded_at,"
    " metadata FROM journal_events"
    " WHERE stream_id = %(stream)s AND version >= %(lo)s AND version <= %(hi)s"
    " AND version > coalesce("
    "(SELECT deleted_to FROM journal_deletions WHERE stream_id = %(stream)s), 0){durable}"
    " ORDER BY version LIMIT %(limit)s"
)
_READ_ALL = (
    "SELECT global_position, stream_id, version, event_id, type, schema_version, payload,"
    " recorded_at, metadata FROM journal_events WHERE global_position > %s{durable}"
    " ORDER BY global_position LIMIT %s"
)
_READ_HEADS = (
    "SELECT global_position, stream_id FROM journal_events WHERE global_position > %s{durable}"
    " ORDER BY global_position LIMIT %s"
)
_LAST = "SELECT coalesce(max(global_position), 0) FROM journal_events WHERE true{durable}"
_DELETE_UP_TO = (
    "INSERT INTO journal_deletions (stream_id, deleted_to)"
    " SELECT %(stream)s, least(%(upto)s, coalesce(max(version), 0))"
    " FROM journal_events WHERE stream_id = %(stream)s"
    " ON CONFLICT (stream_id) DO UPDATE"
    " SET deleted_to = greatest(journal_deletions.deleted_to, excluded.deleted_to)"
)
_STATS = (
    "SELECT (SELECT coalesce(max(global_position), 0) FROM journal_events WHERE true{durable}),"
    # a loose index scan over (stream_id, version): one probe per stream, not per event
    " (WITH RECURSIVE s(id) AS ("
    "   SELECT min(stream_id) FROM journal_events"
    "   UNION ALL SELECT (SELECT min(stream_id) FROM journal_events WHERE stream_id > s.id)"
    "   FROM s WHERE s.id IS NOT NULL)"
    "  SELECT count(id) FROM s),"
    " (SELECT count(*) FROM journal_snapshots)"
)
_SAVE_SNAPSHOT = (
    "INSERT INTO journal_snapshots (stream_id, version, state_type, schema_version, state,"
    " created_at) VALUES (%s, %s, %s, %s, %b, %s)"
    " ON CONFLICT (stream_id, version) DO UPDATE SET state_type = excluded.state_type,"
    " schema_version = excluded.schema_version, state = excluded.state,"
    " created_at = excluded.created_at"
)
_KEEP_SNAPSHOTS = (
    "DELETE FROM journal_snapshots WHERE stream_id = %(stream)s AND version < ("
    " SELECT version FROM journal_snapshots WHERE stream_id = %(stream)s"
    " ORDER BY version DESC OFFSET %(skip)s LIMIT 1)"
)
_LOAD_SNAPSHOT = (
    "SELECT stream_id, version, state_type, schema_version, state, created_at"
    " FROM journal_snapshots WHERE stream_id = %s AND version <= %s"
    " ORDER BY version DESC LIMIT 1"
)
_DELETE_SNAPSHOTS = "DELETE FROM journal_snapshots WHERE stream_id = %s AND version <= %s"


# ---------------------------------------------------------------------------------- append

# The append runs through libpq directly, parameters in binary: psycopg's execute machinery and
# list adaptation cost more client CPU than everything else in an append (about 60 of 130 us per
# single-event append here). Flush mode sends a CALL (which cannot be a prepared statement);
# sync mode, and an append inside a caller's transaction, the function, prepared once per
# connection. Failed results become psycopg's exceptions, so the error mapping is the same.
_APPEND_NAME = b"journal_append_1"
_APPEND_SQL = (
    b"SELECT first_position, current_version FROM journal_append($1, $2, $3, $4, $5, $6, $7, $8)"
)
_APPEND_CALL = b"CALL journal_append_flushed($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL)"
# text, int8, uuid[], text[], int4[], bytea[], float8, bytea
_APPEND_TYPES = (25, 20, 2951, 1009, 1007, 1001, 701, 17)
_ALL_BINARY = (1,) * len(_APPEND_TYPES)
_ARRAY_HEADER = struct.Struct("!iiiii")
_INT4 = struct.Struct("!i").pack
_INT8 = struct.Struct("!q")
_FLOAT8 = struct.Struct("!d").pack


def _binary_array(element_oid: int, items: list[bytes]) -> bytes:
    """A one-dimensional array in PostgreSQL's binary format (``array_send``)."""
    header = _ARRAY_HEADER.pack(1, 0, element_oid, len(items), 1)
    return header + b"".join([_INT4(len(item)) + item for item in items])


def _append_params(p: PreparedAppend) -> tuple[bytes | None, ...]:
    """The append function's parameters, in binary (``_APPEND_TYPES``)."""
    exact = None if p.expected is ANY else 0 if p.expected is NO_STREAM else p.expected
    return (
        p.stream_id.encode(),
        None if exact is None else _INT8.pack(exact),
        _binary_array(2950, [r.event_id.bytes for r in p.rows]),  # uuids: 16 bytes each
        _binary_array(25, [r.type.encode() for r in p.rows]),
        _binary_array(23, [_INT4(r.schema_version) for r in p.rows]),
        _binary_array(17, [r.payload for r in p.rows]),
        _FLOAT8(p.recorded_at),
        p.metadata,
    )


# ---------------------------------------------------------------------------------- URL options


@dataclass(frozen=True)
class PostgresOptions:
    """Our own URL query options (removed before the URL reaches libpq)."""

    pool_min: int = 1
    """Connections the pool keeps open."""
    pool_max: int = 4
    """Connections the pool may open (one per concurrent call)."""
    pool_timeout: float = 5.0
    """Seconds a call waits for a connection (server down, or every connection busy)."""
    lock_timeout: float = 10.0
    """Seconds an append waits for the table lock before a retryable ``StorageError``."""
    connect_timeout: float = 5.0
    """Seconds to open a connection (unless the URL sets libpq's own ``connect_timeout``)."""
    commit: str = "auto"
    """``flush``: commit without waiting for the WAL flush inside the locked section, flush
    right after (writers share fsyncs; needs PostgreSQL 17+). ``sync``: an ordinary
    synchronous commit, the WAL flush inside the locked section. ``auto``: ``flush`` unless the
    server is older than 17 or has synchronous standbys (whose confirmation only a synchronous
    commit waits for)."""

    def __post_init__(self) -> None:
        if self.commit not in ("auto", "flush", "sync"):
            raise ValueError(f"commit must be auto, flush or sync, not {self.commit!r}")
        if self.pool_min < 0 or self.pool_max < max(1, self.pool_min):
            raise ValueError("need 0 <= pool_min <= pool_max and pool_max >= 1")
        if min(self.pool_timeout, self.lock_timeout, self.connect_timeout) <= 0:
            raise ValueError("timeouts must be positive")


_OPTION_TYPES: dict[str, Callable[[str], Any]] = {
    "pool_min": int,
    "pool_max": int,
    "pool_timeout": float,
    "lock_timeout": float,
    "commit": str,
}


def split_url(url: str) -> tuple[str, PostgresOptions]:
    """The libpq URL (our options removed, the rest of the query kept) and our options.

    Raises ``ValueError`` for another scheme or a bad option value.
    """
    if urlsplit(url).scheme not in ("postgres", "postgresql"):
        raise ValueError(
            f"a PostgreSQL journal URL starts with postgresql://, got {redact_url(url)}"
        )
    base, _, query = url.partition("?")
    kept, values = [], {}
    for item in query.split("&") if query else []:
        key, _, raw = item.partition("=")
        if key in _OPTION_TYPES:
            try:
                values[key] = _OPTION_TYPES[key](raw)
            except ValueError:
                raise ValueError(f"bad {key}={raw!r} in {redact_url(url)}") from None
        else:
            kept.append(item)
    try:
        options = PostgresOptions(**values)
    except ValueError as e:
        raise ValueError(f"{e} in {redact_url(url)}") from None
    return base + ("?" + "&".join(kept) if kept else ""), options


# ---------------------------------------------------------------------------------- listener


class _Listener:
    """``LISTEN journal_events`` on a connection of its own, in a daemon thread.

    Every notification (and every change of the connection's state) bumps ``generation``; a
    subscriber takes :meth:`mark` before it reads and waits for the generation to move on. While
    the connection is down, :meth:`mark` is ``None`` and subscribers poll.
    """

    def __init__(self, conninfo: str, kwargs: dict[str, Any], name: str) -> None:
        self._conninfo = conninfo
        self._kwargs = kwargs
        self._cond = threading.Condition()
        self.generation = 0
        self.listening = False
        self.backend_pid: int | None = None
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def mark(self) -> int | None:
        with self._cond:
            return self.generation if self.listening else None

    def _bump(self, listening: bool | None = None) -> None:
        with self._cond:
            if listening is not None:
                self.listening = listening
            self.generation += 1
            self._cond.notify_all()
            waiters = list(self._waiters)
        for loop, event in waiters:
            with contextlib.suppress(RuntimeError):  # that loop is closed
                loop.call_soon_threadsafe(event.set)

    def wait(self, mark: int, timeout: float, stop: threading.Event | None) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.generation == mark and not self._stopping.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (stop is not None and stop.is_set()):
                    return
                self._cond.wait(remaining if stop is None else min(remaining, 0.05))

    async def wait_async(self, mark: int, timeout: float) -> None:
        waiter = (asyncio.get_running_loop(), asyncio.Event())
        with self._cond:
            if self.generation != mark or self._stopping.is_set():
                return
            self._waiters.add(waiter)
        try:
            await asyncio.wait_for(waiter[1].wait(), timeout)
        except TimeoutError:
            pass
        finally:
            with self._cond:
                self._waiters.discard(waiter)

    def _run(self) -> None:
        delay = 0.1
        while not self._stopping.is_set():
            try:
                with psycopg.connect(self._conninfo, **self._kwargs) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.backend_pid = conn.info.backend_pid
                    self._bump(listening=True)  # anything missed while down is read now
                    delay = 0.1
                    while not self._stopping.is_set():
                        for _ in conn.notifies(timeout=0.25):
                            self._bump()
            except Exception as e:  # keep listening: anything here only means "poll for now"
                if self.listening:
                    log.warning("journal listener lost its connection, polling: %s", e)
            finally:
                if self.listening:
                    self._bump(listening=False)
            self._stopping.wait(delay)
            delay = min(delay * 2, 2.0)

    def close(self) -> None:
        self._stopping.set()
        self._bump()
        self._thread.join(5)


# ---------------------------------------------------------------------------------- journal


class PostgresJournal(Journal):
    """Journal in a PostgreSQL database, shared by every process of a cluster.

    ``url`` is a libpq URL (``postgresql://user:pw@host:5432/db?sslmode=...``, ``postgres://``
    too; a ``host=/socket/dir`` query is kept). Our own options may be given in its query string
    (``pool_min``, ``pool_max``, ``pool_timeout``, ``lock_timeout``, ``commit``) or as
    arguments, which win.
    The tables and the append function are created on first open.
    """

    notify_recheck: float = 1.0
    """While LISTEN works, a quiet subscriber still re-reads this often (seconds)."""

    def __init__(
        self,
        url: str,
        *,
        pool_min: int | None = None,
        pool_max: int | None = None,
        pool_timeout: float | None = None,
        lock_timeout: float | None = None,
        commit: str | None = None,
        codec: EventCodec | None = None,
        clock: Clock = time.time,
    ) -> None:
        super().__init__(codec, clock)
        conninfo, options = split_url(url)
        overrides: dict[str, Any] = {
            "pool_min": pool_min,
            "pool_max": pool_max,
            "pool_timeout": pool_timeout,
            "lock_timeout": lock_timeout,
            "commit": commit,
        }
        self.options = replace(options, **{k: v for k, v in overrides.items() if v is not None})
        self.url = redact_url(url)
        self._conninfo = conninfo
        self._secrets = passwords_in(url)
        self._connect_kwargs: dict[str, Any] = {"autocommit": True}
        if "connect_timeout" not in dict(parse_qsl(urlsplit(conninfo).query)):
            self._connect_kwargs["connect_timeout"] = max(1, round(self.options.connect_timeout))
        self._listener: _Listener | None = None
        self._prepared: weakref.WeakSet[Any] = weakref.WeakSet()  # libpq connections
        self._listener_lock = threading.Lock()
        self._closed = False
        self.commit_mode = "sync"
        self._sql: dict[str, str] = {}
        self._create_schema()
        self._pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            conninfo,
            kwargs=self._connect_kwargs,
            min_size=self.options.pool_min,
            max_size=self.options.pool_max,
            timeout=self.options.pool_timeout,
            configure=self._configure,
            name="avatar-journal",
            open=False,
        )
        self._pool.open(wait=False)

    def __repr__(self) -> str:
        return f"PostgresJournal({self.url!r})"

    # ------------------------------------------------------------------ connections

    def _configure(self, conn: psycopg.Connection[Any]) -> None:
        """Settings of every pooled connection (also used by the tests' extra connections)."""
        conn.execute(
            f"SET lock_timeout = {int(self.options.lock_timeout * 1000)};"
            " SET default_transaction_isolation = 'read committed'"
        )
        conn.adapters.register_dumper(int, Int8Dumper)  # one prepared plan per statement
        conn.adapters.register_dumper(int, Int8BinaryDumper)

    def _error(self, what: str, e: BaseException) -> JournalError:
        """Our error for a psycopg error, its message naming the URL without the password."""
        text = str(e).strip() or type(e).__name__
        for secret in self._secrets:
            text = text.replace(secret, "***")
        message = f"postgres failed to {what} ({self.url}): {text}"
        if isinstance(e, psycopg.IntegrityError | psycopg.DataError):
            return EventRejected(message)
        return StorageError(message)

    def _run(self, what: str, work: Callable[[psycopg.Connection[Any]], T]) -> T:
        """Run ``work`` on a pooled connection, translating errors.

        Every call here may be repeated safely (reads; appends are idempotent by event id), so
        when the connection turns out to be dead (the server restarted since it was last used)
        the pool is checked and ``work`` runs once more on a fresh connection.
        """
        retried = False
        while True:
            conn: psycopg.Connection[Any] | None = None
            try:
                with self._pool.connection() as conn:
                    return work(conn)
            except psycopg.Error as e:
                dead = conn is not None and (conn.closed or conn.broken)
                if dead and not retried and not self._closed:
                    retried = True
                    with contextlib.suppress(psycopg.Error):
                        self._pool.check()
                    continue
                raise self._error(what, e) from e

    def _create_schema(self) -> None:
        """Create the tables and functions, once, even with many processes opening at once;
        then choose the commit mode (see :class:`PostgresOptions`)."""
        try:
            conn = psycopg.connect(self._conninfo, **self._connect_kwargs)
        except psycopg.Error as e:
            raise self._error("connect", e) from e
        try:
            with conn:
                if self._stored_schema_version(conn) != SCHEMA_VERSION:
                    with conn.transaction():
                        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                        if self._stored_schema_version(conn) != SCHEMA_VERSION:
                            for statement in _DDL:
                                conn.execute(statement)
                            conn.execute(
                                "INSERT INTO journal_meta (key, value)"
                                " VALUES ('schema_version', %s) ON CONFLICT (key)"
                                " DO UPDATE SET value = excluded.value",
                                (str(SCHEMA_VERSION),),
                            )
                row = conn.execute(
                    "SELECT current_setting('server_version_num')::int,"
                    " current_setting('synchronous_standby_names')"
                ).fetchone()
        except psycopg.Error as e:
            raise self._error("create the journal schema", e) from e
        assert row is not None
        version, standbys = row
        if self.options.commit == "flush" and version < 170000:
            raise JournalError(
                f"commit=flush needs PostgreSQL 17 or newer; {self.url} runs {version}"
            )
        flush = self.options.commit == "flush" or (
            self.options.commit == "auto" and version >= 170000 and not standbys.strip()
        )
        self.commit_mode = "flush" if flush else "sync"
        durable = _DURABLE if flush else ""
        self._sql = {
            name: query.format(durable=durable)
            for name, query in (
                ("existing", _EXISTING),
                ("highest", _HIGHEST),
                ("read", _READ),
                ("read_all", _READ_ALL),
                ("read_heads", _READ_HEADS),
                ("last", _LAST),
                ("stats", _STATS),
            )
        }

    def _stored_schema_version(self, conn: psycopg.Connection[Any]) -> int | None:
        """The database's schema version (``None`` when it has no journal yet).

        Raises :class:`JournalError` (not retryable) when it is newer than this code.
        """
        row = conn.execute("SELECT to_regclass('journal_meta') IS NOT NULL").fetchone()
        if not row or not row[0]:
            return None
        row = conn.execute("SELECT value FROM journal_meta WHERE key = 'schema_version'").fetchone()
        stored = int(row[0]) if row else None
        if stored is not None and stored > SCHEMA_VERSION:
            raise JournalError(
                f"the journal at {self.url} has schema version {stored}, newer than this"
                f" code's {SCHEMA_VERSION}: upgrade the service before opening it"
            )
        return stored

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with self._listener_lock:
            if self._listener is not None:
                self._listener.close()
        self._pool.close()

    # ------------------------------------------------------------------ writing

    def _append(
        self,
        stream_id: str,
        rows: list[NewEvent],
        expected: Expected,
        metadata: bytes,
        recorded_at: float,
    ) -> list[int]:
        return self._run(
            "append",
            lambda conn: self._append_on(conn, stream_id, rows, expected, metadata, recorded_at),
        )

    def _append_batch(self, batch: list[PreparedAppend]) -> list[AppendOutcome]:
        """Group commit: the appends in one transaction, so the table lock is taken once and
        one commit (one WAL flush) covers them all. A conflict or a recorded id fails that append
        only: the append function answers those with its result, never an error."""
        if len(batch) == 1:
            return super()._append_batch(batch)
        results = self._run("append", lambda conn: self._append_batch_on(conn, batch))
        refused = [p for p, (first, _) in zip(batch, results, strict=True) if first is None]
        found: dict[UUID, ExistingEvent] = {}
        if refused:  # one read for every refused append's ids: is any of them a retry?
            rows = [r for p in refused for r in p.rows]
            existing = self._run("read", functools.partial(self._existing, rows=rows))
            found = {e.event_id: e for e in existing}
        outcomes: list[AppendOutcome] = []
        for p, (first, current) in zip(batch, results, strict=True):
            if first is not None:
                outcomes.append(list(range(first, first + len(p.rows))))
                continue
            mine = [found[r.event_id] for r in p.rows if r.event_id in found]
            try:
                outcomes.append(self._resolve_retry(p.stream_id, p.rows, p.expected, current, mine))
            except (VersionConflict, EventRejected) as e:
                outcomes.append(e)
        return outcomes

    def _append_batch_on(
        self, conn: psycopg.Connection[Any], batch: list[PreparedAppend]
    ) -> list[tuple[int | None, int]]:
        with conn.transaction():
            if self.commit_mode == "flush":  # as journal_append_flushed: flush after the commit
                conn.execute("SET LOCAL synchronous_commit = off")
            results = [self._exec_append(conn, _append_params(p)) for p in batch]
        if self.commit_mode == "flush" and any(first is not None for first, _ in results):
            conn.execute("SELECT pg_logical_emit_message(false, 'journal', ''::bytea, true)")
        return results

    def _append_on(
        self,
        conn: psycopg.Connection[Any],
        stream_id: str,
        rows: list[NewEvent],
        expected: Expected,
        metadata: bytes,
        recorded_at: float,
    ) -> list[int]:
        """One append on ``conn``: committed at once in autocommit mode, else with its
        transaction (the tests hold one open this way)."""
        params = _append_params(PreparedAppend(stream_id, rows, expected, metadata, recorded_at))
        try:
            first, current = self._exec_append(conn, params)
        except pg_errors.UniqueViolation:
            # An event id is already recorded: a retry under ANY, or a bad batch.
            if conn.info.transaction_status != pq.TransactionStatus.IDLE:
                raise  # inside a caller's transaction (tests), which is now aborted
            current = self._highest(conn, stream_id)
            return self._resolve_retry(
                stream_id, rows, expected, current, self._existing(conn, rows)
            )
        if first is None:
            return self._resolve_retry(
                stream_id, rows, expected, current, self._existing(conn, rows)
            )
        return list(range(first, first + len(rows)))

    def _exec_append(
        self, conn: psycopg.Connection[Any], params: tuple[bytes | None, ...]
    ) -> tuple[int | None, int]:
        """Run the prepared append on ``conn``: (first position or None, current version)."""
        pgconn = conn.pgconn
        values = cast("Sequence[bytes]", params)  # libpq (and psycopg's pq) take None as NULL
        if self.commit_mode == "flush" and pgconn.transaction_status == pq.TransactionStatus.IDLE:
            # CALL cannot be prepared; the procedure commits, so it needs no open transaction
            result = pgconn.exec_params(_APPEND_CALL, values, _APPEND_TYPES, _ALL_BINARY, 1)
        else:
            result = self._exec_prepared_append(conn, values)
        self._check(conn, result)
        first, current = result.get_value(0, 0), result.get_value(0, 1)
        assert current is not None
        return (None if first is None else _INT8.unpack(first)[0]), _INT8.unpack(current)[0]

    def _exec_prepared_append(
        self, conn: psycopg.Connection[Any], values: Sequence[bytes]
    ) -> pq.abc.PGresult:
        """The append function, synchronously committed (or inside the caller's transaction)."""
        pgconn = conn.pgconn
        for attempt in (1, 2):
            if pgconn not in self._prepared:
                self._check(conn, pgconn.prepare(_APPEND_NAME, _APPEND_SQL, _APPEND_TYPES))
                self._prepared.add(pgconn)
            result = pgconn.exec_prepared(_APPEND_NAME, values, _ALL_BINARY, 1)
            if result.error_field(pq.DiagnosticField.SQLSTATE) == b"26000" and attempt == 1:
                self._prepared.discard(pgconn)  # someone ran DEALLOCATE: prepare it again
                continue
            return result
        raise AssertionError("unreachable")

    @staticmethod
    def _check(conn: psycopg.Connection[Any], result: pq.abc.PGresult) -> None:
        """Raise psycopg's exception for a failed libpq result."""
        if result.status not in (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.COMMAND_OK):
            raise pg_errors.error_from_result(result, encoding=conn.info.encoding)

    def _highest(self, conn: psycopg.Connection[Any], stream_id: str) -> int:
        row = conn.execute(self._sql["highest"], (stream_id,), prepare=True).fetchone()
        return int(row[0]) if row else 0

    def _existing(self, conn: psycopg.Connection[Any], rows: list[NewEvent]) -> list[ExistingEvent]:
        found = conn.execute(self._sql["existing"], ([r.event_id for r in rows],)).fetchall()
        return [ExistingEvent(*f) for f in found]

    # ------------------------------------------------------------------ reading

    def _fetch(self, what: str, query: str, params: Any) -> list[tuple[Any, ...]]:
        def work(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
            with conn.cursor(binary=True) as cur:
                cur.execute(query, params, prepare=True)
                return cur.fetchall()

        return self._run(what, work)

    def _read(
        self, stream_id: str, from_version: int, to_version: int | None, max_count: int | None
    ) -> list[RecordedEvent]:
        params = {
            "stream": stream_id,
            "lo": from_version,
            "hi": _MAX_VERSION if to_version is None else to_version,
            "limit": max_count,
        }
        return self._records_of(self._fetch("read", self._sql["read"], params), stream_id)

    def highest_version(self, stream_id: str) -> int:
        return self._run("read", lambda conn: self._highest(conn, stream_id))

    def delete_up_to(self, stream_id: str, version: int) -> None:
        self._run(
            "delete",
            lambda conn: conn.execute(_DELETE_UP_TO, {"stream": stream_id, "upto": version}),
        )

    def read_all(self, after_position: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        if limit <= 0:
            return []
        return self._records_of(self._fetch("read", self._sql["read_all"], (after_position, limit)))

    def read_heads(self, after_position: int = 0, limit: int = 1000) -> list[tuple[int, str]]:
        if limit <= 0:
            return []
        rows = self._fetch("read", self._sql["read_heads"], (after_position, limit))
        return [(int(pos), str(sid)) for pos, sid in rows]

    def last_position(self) -> int:
        return int(self._fetch("read", self._sql["last"], ())[0][0])

    def stats(self) -> dict[str, int]:
        events, streams, snapshots = self._fetch("read", self._sql["stats"], ())[0]
        return {"streams": int(streams), "events": int(events), "snapshots": int(snapshots)}

    # ------------------------------------------------------------------ snapshots

    def save_snapshot(self, snapshot: SnapshotRecord, keep: int | None = None) -> None:
        if snapshot.version < 1:
            raise EventRejected("a snapshot needs a version >= 1")
        s = snapshot

        def work(conn: psycopg.Connection[Any]) -> None:
            with conn.transaction():
                conn.execute(
                    _SAVE_SNAPSHOT,
                    (s.stream_id, s.version, s.state_type, s.schema_version, s.state, s.created_at),
                )
                if keep is not None and keep >= 1:
                    conn.execute(_KEEP_SNAPSHOTS, {"stream": s.stream_id, "skip": keep - 1})

        self._run("save a snapshot", work)

    def load_snapshot(
        self, stream_id: str, max_version: int | None = None
    ) -> SnapshotRecord | None:
        limit = _MAX_VERSION if max_version is None else max_version
        rows = self._fetch("load a snapshot", _LOAD_SNAPSHOT, (stream_id, limit))
        return SnapshotRecord(*rows[0]) if rows else None

    def delete_snapshots(self, stream_id: str, max_version: int | None = None) -> None:
        limit = _MAX_VERSION if max_version is None else max_version
        self._run(
            "delete snapshots", lambda conn: conn.execute(_DELETE_SNAPSHOTS, (stream_id, limit))
        )

    # ------------------------------------------------------------------ subscriptions

    def _append_mark(self) -> object:
        with self._listener_lock:
            if self._listener is None and not self._closed:
                kwargs = {**self._connect_kwargs, "application_name": "avatar-journal-listener"}
                self._listener = _Listener(self._conninfo, kwargs, "journal-listener")
            listener = self._listener
        return None if listener is None else listener.mark()

    def _wait_for_append(
        self, position: int, timeout: float, stop: threading.Event | None, mark: object = None
    ) -> None:
        if self._listener is None or not isinstance(mark, int):
            super()._wait_for_append(position, timeout, stop)  # LISTEN is down: poll
            return
        self._listener.wait(mark, max(timeout, self.notify_recheck), stop)

    async def _wait_for_append_async(self, position: int, timeout: float, mark: object) -> None:
        if self._listener is None or not isinstance(mark, int):
            await asyncio.sleep(timeout)
            return
        await self._listener.wait_async(mark, max(timeout, self.notify_recheck))
