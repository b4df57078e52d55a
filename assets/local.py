"""The local-folder backend: blobs under ``<root>/blobs/ab/<sha256>``, records in SQLite.

Several OS processes (ingress and renderer replicas) share one root. The index is SQLite in WAL
mode; a blob is moved into place and its record inserted inside one ``BEGIN IMMEDIATE``
transaction, and a delete removes the record and (when no other record points at it) the blob
inside one too, so a concurrent upload of the same bytes never loses its blob. Temporary files
are written under ``<root>/tmp`` (same disk: the final move is a rename).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from assets.errors import AssetNotFound, StorageFailure
from assets.names import check_asset_id, check_sha256
from assets.sniff import AssetKind
from assets.store import DEFAULT_MAX_BYTES, AssetInfo, AssetPage, AssetStore

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
_STALE_UPLOAD_S = 86_400.0
_COLUMNS = "asset_id, tenant, name, kind, mime, format, size, sha256, created_at, meta"


class LocalAssetStore(AssetStore):
    def __init__(
        self, root: Path, *, max_bytes: int = DEFAULT_MAX_BYTES, busy_timeout: float = 30.0
    ) -> None:
        self.root = Path(root).resolve()
        self.max_bytes = max_bytes
        self.busy_timeout = busy_timeout
        self.blobs = self.root / "blobs"
        self.tmp = self.root / "tmp"
        self.index = self.root / "index.sqlite"
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        with self._storage("open the index"):
            self.blobs.mkdir(parents=True, exist_ok=True)
            self.tmp.mkdir(parents=True, exist_ok=True)
            conn = self._conn()
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)
            self._sweep_temp()

    # ------------------------------------------------------------------ plumbing

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.index,
                timeout=self.busy_timeout,
                isolation_level=None,
                check_same_thread=False,
            )
            conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout * 1000)}")
            conn.execute("PRAGMA synchronous=FULL")
            self._local.conn = conn
            with self._all_lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def _storage(self, what: str) -> Iterator[None]:
        """Translate sqlite3 and OS errors into ours."""
        try:
            yield
        except sqlite3.Error as e:
            raise StorageFailure(f"asset index failed to {what} ({self.index}): {e}") from e
        except OSError as e:
            raise StorageFailure(f"asset storage failed to {what}: {e}") from e

    @contextmanager
    def _write(self, what: str) -> Iterator[sqlite3.Connection]:
        with self._storage(what):
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                # SQLite may have rolled back already (e.g. on a full disk): keep its error, and
                # never leave this thread's cached connection inside an open transaction
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _sweep_temp(self) -> None:
        """Remove uploads left by a process that died mid-upload (older than a day: a live
        upload of another process is never that old)."""
        cutoff = time.time() - _STALE_UPLOAD_S
        for path in self.tmp.glob("up-*"):
            with contextlib.suppress(OSError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()

    def blob_path(self, sha256: str) -> Path:
        sha = check_sha256(sha256)
        return self.blobs / sha[:2] / sha

    def close(self) -> None:
        with self._all_lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()

    # ------------------------------------------------------------------ writing

    def _temp_path(self) -> Path:
        return self.tmp / f"up-{uuid.uuid4().hex}"

    def _adopt(self, tmp: Path, info: AssetInfo) -> AssetInfo:
        blob = self.blob_path(info.sha256)
        stored = info.model_copy(update={"created_at": time.time()})
        with self._write("store an asset") as conn:
            blob.parent.mkdir(exist_ok=True)
            if blob.is_file() and not blob.is_symlink():
                tmp.unlink()  # the same bytes are already here
            else:
                os.replace(tmp, blob)
            conn.execute(
                f"INSERT INTO assets ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                _row(stored),
            )
        return stored

    def delete(self, tenant: str, asset_id: str) -> None:
        check_asset_id(asset_id)
        with self._write("delete an asset") as conn:
            found = conn.execute(
                "SELECT sha256 FROM assets WHERE asset_id = ? AND tenant = ?", (asset_id, tenant)
            ).fetchone()
            if found is None:
                raise AssetNotFound(f"asset {asset_id!r} not found")
            conn.execute("DELETE FROM assets WHERE asset_id = ?", (asset_id,))
            (others,) = conn.execute(
                "SELECT COUNT(*) FROM assets WHERE sha256 = ?", (found[0],)
            ).fetchone()
            if not others:
                self.blob_path(found[0]).unlink(missing_ok=True)

    # ------------------------------------------------------------------ reading

    def _one(self, sql: str, args: tuple[Any, ...], what: str) -> AssetInfo:
        with self._storage("read an asset"):
            row = (
                self._conn().execute(f"SELECT {_COLUMNS} FROM assets WHERE {sql}", args).fetchone()
            )
        if row is None:
            raise AssetNotFound(f"{what} not found")
        return _info(row)

    def get(self, tenant: str, asset_id: str) -> AssetInfo:
        if not asset_id.startswith("as-"):
            raise AssetNotFound(f"asset {asset_id[:80]!r} not found")
        check_asset_id(asset_id)
        return self._one("asset_id = ? AND tenant = ?", (asset_id, tenant), f"asset {asset_id!r}")

    def find(self, tenant: str, name: str) -> AssetInfo:
        return self._one(
            "tenant = ? AND name = ? ORDER BY created_at DESC LIMIT 1",
            (tenant, name),
            f"asset named {name[:200]!r}",
        )

    def page(
        self, tenant: str, *, kind: AssetKind | None = None, offset: int = 0, limit: int = 50
    ) -> AssetPage:
        where, args = "tenant = ?", [tenant]
        if kind is not None:
            where, args = where + " AND kind = ?", [*args, kind]
        with self._storage("list assets"):
            conn = self._conn()
            (total,) = conn.execute(f"SELECT COUNT(*) FROM assets WHERE {where}", args).fetchone()
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM assets WHERE {where} "
                "ORDER BY created_at DESC, asset_id LIMIT ? OFFSET ?",
                (*args, limit, offset),
            ).fetchall()
        return AssetPage(items=[_info(r) for r in rows], total=total, offset=offset, limit=limit)

    def search(
        self, tenant: str, query: str, *, kind: AssetKind | None = None, limit: int = 50
    ) -> list[AssetInfo]:
        pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where = (
            "tenant = ? AND (name LIKE ? ESCAPE '\\' OR format LIKE ? ESCAPE '\\' "
            "OR mime LIKE ? ESCAPE '\\')"
        )
        args: list[Any] = [tenant, pattern, pattern, pattern]
        if kind is not None:
            where, args = where + " AND kind = ?", [*args, kind]
        with self._storage("search assets"):
            rows = (
                self._conn()
                .execute(
                    f"SELECT {_COLUMNS} FROM assets WHERE {where} ORDER BY created_at DESC LIMIT ?",
                    (*args, limit),
                )
                .fetchall()
            )
        return [_info(r) for r in rows]

    def open_path(self, tenant: str, asset_id: str) -> tuple[Path, AssetInfo]:
        info = self.get(tenant, asset_id)
        blob = self.blob_path(info.sha256)
        with contextlib.suppress(OSError):
            real = blob.resolve(strict=True)
            if not blob.is_symlink() and real.is_relative_to(self.blobs) and real.is_file():
                return real, info
        raise AssetNotFound(f"the content of asset {asset_id!r} is not available")


def _row(info: AssetInfo) -> tuple[Any, ...]:
    return (
        info.asset_id,
        info.tenant,
        info.name,
        info.kind,
        info.mime,
        info.format,
        info.size,
        info.sha256,
        info.created_at,
        json.dumps(info.meta),
    )


def _info(row: tuple[Any, ...]) -> AssetInfo:
    keys = _COLUMNS.split(", ")
    values = dict(zip(keys, row, strict=True))
    values["meta"] = json.loads(values["meta"])
    return AssetInfo.model_validate(values)
