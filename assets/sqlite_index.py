"""The SQLite asset index (one machine): a file, ``<data_dir>/assets/index.sqlite`` by default.

WAL mode, so readers never wait for a writer; every write is a ``BEGIN IMMEDIATE``
transaction, SQLite's single writer lock, which is also the per-checksum lock
:meth:`~assets.index.AssetIndex.writing` promises (it locks every checksum at once). Several
processes on one machine (ingress, Renderer and Speech replicas) share the file.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from assets.errors import AssetNotFound, StorageFailure
from assets.index import COLUMNS, AssetIndex, IndexWriter, from_row, like_pattern, to_row
from assets.sniff import AssetKind
from assets.store import AssetInfo, AssetPage
from events.sqlite_connections import ThreadConnections, write_transaction

_SCHEMA = """
CREATE TABLE IF NOT EXISTS assets (
    asset_id   TEXT PRIMARY KEY,
    tenant     TEXT NOT NULL,
    name       TEXT NOT NULL,
    kind       TEXT NOT NULL,
    mime       TEXT NOT NULL,
    format     TEXT NOT NULL,
    size       INTEGER NOT NULL,
    sha256     TEXT NOT NULL,
    created_at REAL NOT NULL,
    meta       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS assets_by_tenant ON assets (tenant, created_at);
CREATE INDEX IF NOT EXISTS assets_by_name ON assets (tenant, name);
CREATE INDEX IF NOT EXISTS assets_by_sha ON assets (sha256);
"""
_SELECT = f"SELECT {', '.join(COLUMNS)}, meta FROM assets"
_INSERT = f"INSERT INTO assets ({', '.join(COLUMNS)}, meta) VALUES ({', '.join('?' * 10)})"


class _Writer(IndexWriter):
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def insert(self, info: AssetInfo) -> None:
        self.conn.execute(_INSERT, to_row(info))

    def references(self, sha256: str) -> int:
        sql = "SELECT COUNT(*) FROM assets WHERE sha256 = ?"
        (n,) = self.conn.execute(sql, (sha256,)).fetchone()
        return int(n)

    def usage(self, tenant: str) -> int:
        return _usage(self.conn, tenant)


def _usage(conn: sqlite3.Connection, tenant: str) -> int:
    (n,) = conn.execute(
        "SELECT COALESCE(SUM(size), 0) FROM assets WHERE tenant = ?", (tenant,)
    ).fetchone()
    return int(n)


class SqliteAssetIndex(AssetIndex):
    def __init__(self, path: Path | str, *, busy_timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self._connections = ThreadConnections(self.path, busy_timeout=busy_timeout)
        with self._storage("open the index"):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = self._conn()
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)

    def __repr__(self) -> str:
        return f"SqliteAssetIndex({str(self.path)!r})"

    # ------------------------------------------------------------------ plumbing

    def _conn(self) -> sqlite3.Connection:
        return self._connections.get()

    @contextmanager
    def _storage(self, what: str) -> Iterator[None]:
        """Translate sqlite3 and OS errors into ours."""
        try:
            yield
        except sqlite3.Error as e:
            raise StorageFailure(f"asset index failed to {what} ({self.path}): {e}") from e
        except OSError as e:
            raise StorageFailure(f"asset index failed to {what} ({self.path}): {e}") from e

    @contextmanager
    def _write(self, what: str) -> Iterator[sqlite3.Connection]:
        with self._storage(what), write_transaction(self._conn()) as conn:
            yield conn

    def close(self) -> None:
        self._connections.close_all()

    # ------------------------------------------------------------------ writing

    @contextmanager
    def writing(self, sha256: str) -> Iterator[IndexWriter]:
        with self._write("write a record") as conn:
            yield _Writer(conn)

    def remove(self, tenant: str, asset_id: str) -> str:
        with self._write("delete a record") as conn:
            found = conn.execute(
                "DELETE FROM assets WHERE asset_id = ? AND tenant = ? RETURNING sha256",
                (asset_id, tenant),
            ).fetchone()
        if found is None:
            raise AssetNotFound(f"asset {asset_id!r} not found")
        return str(found[0])

    # ------------------------------------------------------------------ reading

    def _one(self, where: str, args: tuple[Any, ...], what: str) -> AssetInfo:
        with self._storage("read a record"):
            row = self._conn().execute(f"{_SELECT} WHERE {where}", args).fetchone()
        if row is None:
            raise AssetNotFound(f"{what} not found")
        return from_row(row)

    def usage(self, tenant: str) -> int:
        with self._storage("sum sizes"):
            return _usage(self._conn(), tenant)

    def get(self, tenant: str, asset_id: str) -> AssetInfo:
        return self._one("asset_id = ? AND tenant = ?", (asset_id, tenant), f"asset {asset_id!r}")

    def find(self, tenant: str, name: str) -> AssetInfo:
        return self._one(
            "tenant = ? AND name = ? ORDER BY created_at DESC, asset_id LIMIT 1",
            (tenant, name),
            f"asset named {name[:200]!r}",
        )

    def page(self, tenant: str, *, kind: AssetKind | None, offset: int, limit: int) -> AssetPage:
        where, args = "tenant = ?", [tenant]
        if kind is not None:
            where, args = where + " AND kind = ?", [*args, kind]
        with self._storage("list records"):
            conn = self._conn()
            # one read transaction: the total and the page agree
            conn.execute("BEGIN")
            try:
                (total,) = conn.execute(
                    f"SELECT COUNT(*) FROM assets WHERE {where}", args
                ).fetchone()
                rows = conn.execute(
                    f"{_SELECT} WHERE {where} ORDER BY created_at DESC, asset_id LIMIT ? OFFSET ?",
                    (*args, limit, offset),
                ).fetchall()
            finally:
                conn.execute("COMMIT")
        return AssetPage(items=[from_row(r) for r in rows], total=total, offset=offset, limit=limit)

    def search(
        self, tenant: str, query: str, *, kind: AssetKind | None, limit: int
    ) -> list[AssetInfo]:
        pattern = like_pattern(query)
        where = (
            "tenant = ? AND (name LIKE ? ESCAPE '\\' OR format LIKE ? ESCAPE '\\' "
            "OR mime LIKE ? ESCAPE '\\')"
        )
        args: list[Any] = [tenant, pattern, pattern, pattern]
        if kind is not None:
            where, args = where + " AND kind = ?", [*args, kind]
        with self._storage("search records"):
            rows = (
                self._conn()
                .execute(
                    f"{_SELECT} WHERE {where} ORDER BY created_at DESC, asset_id LIMIT ?",
                    (*args, limit),
                )
                .fetchall()
            )
        return [from_row(r) for r in rows]
