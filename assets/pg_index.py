"""The PostgreSQL asset index (a cluster): tables of its own in the journal's database.

``asset_records`` holds the records, ``asset_schema_version`` one row with the schema's
version. Opening creates them if missing, under a transaction-level advisory lock, so several
processes (ingress, Renderer and Speech replicas on several nodes) opening at once are safe; a
database whose schema is newer than this code is refused.

:meth:`~PostgresAssetIndex.writing` takes ``pg_advisory_xact_lock`` on the checksum (two 32-bit
keys: a constant for "asset blobs" and the digest's first 32 bits; two checksums sharing them
only wait for each other), so placing a blob and recording it, or seeing no record left and
removing the blob, never interleave for the same bytes.

Connections come from a ``psycopg_pool`` pool (checked before use, so a restarted server costs
no failed request). psycopg errors never leave this module: they become
:class:`~assets.errors.StorageFailure` (retryable), and no message carries the password.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any, NoReturn
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import pq
from psycopg.conninfo import conninfo_to_dict
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from assets.errors import AssetNotFound, StorageFailure
from assets.index import COLUMNS, AssetIndex, IndexWriter, from_row, like_pattern, to_row
from assets.sniff import AssetKind
from assets.store import AssetInfo, AssetPage

SCHEMA_VERSION = 1
_LOCK_SCHEMA = (0x41534958, 0)  # "ASIX": creating the tables
_LOCK_BLOB = 0x41534254  # "ASBT": one blob's records (second key: the checksum's first 32 bits)

_SCHEMA = [
    """CREATE TABLE asset_schema_version (
        one_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one_row),
        version INTEGER NOT NULL
    )""",
    """CREATE TABLE asset_records (
        asset_id   TEXT PRIMARY KEY,
        tenant     TEXT NOT NULL,
        name       TEXT NOT NULL,
        kind       TEXT NOT NULL,
        mime       TEXT NOT NULL,
        format     TEXT NOT NULL,
        size       BIGINT NOT NULL,
        sha256     TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        meta       JSONB NOT NULL
    )""",
    "CREATE INDEX asset_records_by_tenant ON asset_records (tenant, created_at DESC, asset_id)",
    "CREATE INDEX asset_records_by_name ON asset_records (tenant, name, created_at DESC)",
    "CREATE INDEX asset_records_by_sha ON asset_records (sha256)",
]
_SELECT = f"SELECT {', '.join(COLUMNS)}, meta FROM asset_records"
_INSERT = (
    f"INSERT INTO asset_records ({', '.join(COLUMNS)}, meta) "
    f"VALUES ({', '.join(['%s'] * (len(COLUMNS) + 1))})"
)
_LIBPQ_KEYS = frozenset(o.keyword.decode() for o in pq.Conninfo.get_defaults())


def libpq_url(url: str) -> str:
    """``url`` with only the query parameters libpq knows (the journal's own options, which
    may share the URL, are left out)."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ValueError("a PostgreSQL index URL starts with postgresql:// or postgres://")
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k in _LIBPQ_KEYS]
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote)))


def _blob_key(sha256: str) -> int:
    return int(sha256[:8], 16) - 2**31


def _has_nul(*texts: str) -> bool:
    """PostgreSQL text cannot hold NUL: such a value matches no record."""
    return any("\x00" in t for t in texts)


class _Writer(IndexWriter):
    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def insert(self, info: AssetInfo) -> None:
        row = to_row(info)
        self.conn.execute(_INSERT, (*row[:-1], Jsonb(info.meta)))

    def references(self, sha256: str) -> int:
        row = self.conn.execute(
            "SELECT COUNT(*) FROM asset_records WHERE sha256 = %s", (sha256,)
        ).fetchone()
        return int(row[0]) if row else 0

    def usage(self, tenant: str) -> int:
        return _usage(self.conn, tenant)


def _usage(conn: psycopg.Connection[Any], tenant: str) -> int:
    if _has_nul(tenant):
        return 0
    row = conn.execute(
        "SELECT COALESCE(SUM(size), 0) FROM asset_records WHERE tenant = %s", (tenant,)
    ).fetchone()
    return int(row[0]) if row else 0


class PostgresAssetIndex(AssetIndex):
    def __init__(
        self,
        url: str,
        *,
        min_size: int = 1,
        max_size: int = 4,
        timeout: float = 10.0,
        connect_timeout: int = 10,
    ) -> None:
        self._password = ""
        self.where = "postgresql://?"
        with suppress(ValueError):
            self._password = unquote(urlsplit(url).password or "")
        try:
            conninfo = libpq_url(url)
            params = conninfo_to_dict(conninfo)
        except (ValueError, psycopg.Error) as e:
            raise ValueError(self._scrub(f"bad PostgreSQL asset index URL: {e}".strip())) from None
        self._password = str(params.get("password") or self._password)
        self.where = _describe(params)
        self._pool: ConnectionPool[psycopg.Connection[Any]] | None = None
        with self._storage("open the index"):
            with psycopg.connect(conninfo, connect_timeout=connect_timeout) as conn:
                self._create_schema(conn)
            self._pool = ConnectionPool(
                conninfo,
                min_size=min_size,
                max_size=max_size,
                kwargs={"autocommit": True, "connect_timeout": connect_timeout},
                check=ConnectionPool.check_connection,
                timeout=timeout,
                name="asset-index",
                open=True,
            )

    def __repr__(self) -> str:
        return f"PostgresAssetIndex({self.where!r})"

    # ------------------------------------------------------------------ plumbing

    def _scrub(self, text: str) -> str:
        if self._password:
            for secret in {self._password, quote(self._password, safe="")}:
                text = text.replace(secret, "***")
        return text

    def _fail(self, what: str, e: BaseException) -> NoReturn:
        message = self._scrub(f"asset index failed to {what} ({self.where}): {e}".rstrip())
        raise StorageFailure(f"{message} [{type(e).__name__}]") from None

    @contextmanager
    def _storage(self, what: str) -> Iterator[None]:
        """Translate psycopg (and pool) errors into ours, without the password."""
        try:
            yield
        except psycopg.Error as e:
            self._fail(what, e)

    @contextmanager
    def _conn(self, what: str) -> Iterator[psycopg.Connection[Any]]:
        if self._pool is None:
            raise StorageFailure(f"the asset index ({self.where}) is closed")
        with self._storage(what), self._pool.connection() as conn:
            yield conn

    def _create_schema(self, conn: psycopg.Connection[Any]) -> None:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", _LOCK_SCHEMA)
            row = conn.execute("SELECT to_regclass('asset_schema_version')").fetchone()
            if row is None or row[0] is None:
                for statement in _SCHEMA:
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO asset_schema_version (version) VALUES (%s)", (SCHEMA_VERSION,)
                )
                return
            found = conn.execute("SELECT version FROM asset_schema_version").fetchone()
            version = int(found[0]) if found else 0
        if version != SCHEMA_VERSION:
            raise StorageFailure(
                f"the asset index at {self.where} has schema version {version}; this code "
                f"knows version {SCHEMA_VERSION} (run the matching version of the service)"
            )

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    # ------------------------------------------------------------------ writing

    @contextmanager
    def writing(self, sha256: str) -> Iterator[IndexWriter]:
        with self._conn("write a record") as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (_LOCK_BLOB, _blob_key(sha256)))
            yield _Writer(conn)

    def remove(self, tenant: str, asset_id: str) -> str:
        with self._conn("delete a record") as conn:
            row = conn.execute(
                "DELETE FROM asset_records WHERE asset_id = %s AND tenant = %s RETURNING sha256",
                (asset_id, tenant),
            ).fetchone()
        if row is None:
            raise AssetNotFound(f"asset {asset_id!r} not found")
        return str(row[0])

    # ------------------------------------------------------------------ reading

    def _one(self, where: str, args: tuple[Any, ...], what: str) -> AssetInfo:
        row = None
        if not _has_nul(*(a for a in args if isinstance(a, str))):
            with self._conn("read a record") as conn:
                row = conn.execute(f"{_SELECT} WHERE {where}", args).fetchone()
        if row is None:
            raise AssetNotFound(f"{what} not found")
        return from_row(row)

    def usage(self, tenant: str) -> int:
        with self._conn("sum sizes") as conn:
            return _usage(conn, tenant)

    def get(self, tenant: str, asset_id: str) -> AssetInfo:
        return self._one("asset_id = %s AND tenant = %s", (asset_id, tenant), f"asset {asset_id!r}")

    def find(self, tenant: str, name: str) -> AssetInfo:
        return self._one(
            "tenant = %s AND name = %s ORDER BY created_at DESC, asset_id LIMIT 1",
            (tenant, name),
            f"asset named {name[:200]!r}",
        )

    def page(self, tenant: str, *, kind: AssetKind | None, offset: int, limit: int) -> AssetPage:
        if _has_nul(tenant):
            return AssetPage(items=[], total=0, offset=offset, limit=limit)
        where, args = "tenant = %s", [tenant]
        if kind is not None:
            where, args = where + " AND kind = %s", [*args, kind]
        # one statement: the total and the page agree
        sql = (
            f"SELECT {', '.join(COLUMNS)}, meta, COUNT(*) OVER () FROM asset_records "
            f"WHERE {where} ORDER BY created_at DESC, asset_id LIMIT %s OFFSET %s"
        )
        with self._conn("list records") as conn:
            rows = conn.execute(sql, (*args, limit, offset)).fetchall()
            if rows:
                total = int(rows[0][-1])
            else:  # past the end (or nothing at all): count on its own
                count = f"SELECT COUNT(*) FROM asset_records WHERE {where}"
                found = conn.execute(count, args).fetchone()
                total = int(found[0]) if found else 0
        return AssetPage(
            items=[from_row(r[:-1]) for r in rows], total=total, offset=offset, limit=limit
        )

    def search(
        self, tenant: str, query: str, *, kind: AssetKind | None, limit: int
    ) -> list[AssetInfo]:
        if _has_nul(tenant, query):
            return []
        pattern = like_pattern(query)
        where = (
            "tenant = %s AND (name ILIKE %s ESCAPE '\\' OR format ILIKE %s ESCAPE '\\' "
            "OR mime ILIKE %s ESCAPE '\\')"
        )
        args: list[Any] = [tenant, pattern, pattern, pattern]
        if kind is not None:
            where, args = where + " AND kind = %s", [*args, kind]
        sql = f"{_SELECT} WHERE {where} ORDER BY created_at DESC, asset_id LIMIT %s"
        with self._conn("search records") as conn:
            rows = conn.execute(sql, (*args, limit)).fetchall()
        return [from_row(r) for r in rows]


def _describe(params: dict[str, Any]) -> str:
    """Where the index is, for messages: never the password."""
    user = params.get("user") or ""
    host = params.get("host") or params.get("hostaddr") or "localhost"
    port = params.get("port") or "5432"
    dbname = params.get("dbname") or user
    return f"postgresql://{user}{'@' if user else ''}{host}:{port}/{dbname}"
