"""The asset index: the records (id, name, kind, MIME, size, sha256, created_at, tenant, model
facts), per tenant. Two backends: SQLite (``assets/sqlite_index.py``, one machine) and
PostgreSQL (``assets/pg_index.py``, a cluster; the journal's database, tables of its own).

The index knows nothing of files. The store (``assets/blobstore.py``) places a blob and records
it inside :meth:`AssetIndex.writing`, a transaction holding the lock of that checksum, and
removes a blob only inside one too, after seeing no record still points at it; so an upload of
the same bytes racing a delete never loses its blob, on one node or many.

Every call takes the tenant; a record of another tenant is never found, listed or removed.
Backends translate their driver's errors into :mod:`assets.errors` (a failure of the index is
a :class:`~assets.errors.StorageFailure`, retryable).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from typing import Any

from assets.names import check_asset_id
from assets.sniff import AssetKind
from assets.store import AssetInfo, AssetPage

COLUMNS = ("asset_id", "tenant", "name", "kind", "mime", "format", "size", "sha256", "created_at")
"""The record's columns, ``meta`` (JSON) aside."""


class IndexWriter(ABC):
    """What a write transaction of :meth:`AssetIndex.writing` may do."""

    @abstractmethod
    def insert(self, info: AssetInfo) -> None: ...

    @abstractmethod
    def references(self, sha256: str) -> int:
        """How many records (of any tenant) point at the blob ``sha256``."""

    @abstractmethod
    def usage(self, tenant: str) -> int:
        """The bytes ``tenant``'s records add up to, as this transaction sees them."""


class AssetIndex(ABC):
    """Asset records; safe to share between threads and between OS processes."""

    @abstractmethod
    def writing(self, sha256: str) -> AbstractContextManager[IndexWriter]:
        """A write transaction holding the lock of ``sha256``: until it ends, no other
        transaction adds or removes a record of that checksum. Commits on a normal exit, rolls
        back on an exception."""

    @abstractmethod
    def remove(self, tenant: str, asset_id: str) -> str:
        """Remove the record; its sha256. AssetNotFound if ``tenant`` has no such asset."""

    @abstractmethod
    def get(self, tenant: str, asset_id: str) -> AssetInfo:
        """AssetNotFound if ``tenant`` has no such asset."""

    @abstractmethod
    def usage(self, tenant: str) -> int:
        """The bytes ``tenant`` stores: the sum of its records' sizes (a blob two records share
        counts twice, once per record, as each tenant is charged for what it stored)."""

    @abstractmethod
    def find(self, tenant: str, name: str) -> AssetInfo:
        """The newest record called ``name``; AssetNotFound if none."""

    @abstractmethod
    def page(self, tenant: str, *, kind: AssetKind | None, offset: int, limit: int) -> AssetPage:
        """Newest first."""

    @abstractmethod
    def search(
        self, tenant: str, query: str, *, kind: AssetKind | None, limit: int
    ) -> list[AssetInfo]:
        """Records whose name, format or MIME contains ``query`` (case-insensitive, literal)."""

    def close(self) -> None:  # noqa: B027 - optional for backends
        """Release connections."""


def like_pattern(query: str) -> str:
    """``%query%`` with LIKE's wildcards escaped (escape character ``\\``)."""
    return "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def is_asset_id(asset_id: str) -> bool:
    """Whether ``asset_id`` could name an asset (anything else is simply not found; a
    malformed id that looks like one raises UnsafeName)."""
    if not asset_id.startswith("as-"):
        return False
    check_asset_id(asset_id)
    return True


def to_row(info: AssetInfo) -> tuple[Any, ...]:
    """The record as column values, ``meta`` last as JSON text."""
    return (*(getattr(info, c) for c in COLUMNS), json.dumps(info.meta))


def from_row(row: tuple[Any, ...]) -> AssetInfo:
    values = dict(zip((*COLUMNS, "meta"), row, strict=True))
    meta = values["meta"]
    values["meta"] = json.loads(meta) if isinstance(meta, str) else meta
    return AssetInfo.model_validate(values)
