"""The asset store: a blob directory (``assets/blobs.py``) and an index (``assets/index.py``).

One class for every configuration: blobs in a folder (local, or a volume every node mounts),
records in SQLite (one machine) or PostgreSQL (a cluster).

- **Storing** (:meth:`BlobAssetStore._adopt`): inside the index's write transaction holding the
  checksum's lock, the record is inserted, then the fsynced temporary file is renamed into
  place (or dropped: the same bytes are already there); the transaction commits last. A failed
  insert leaves no blob; a failed commit at worst leaves a blob without a record.
- **Deleting**: the record goes in its own transaction; then, holding the checksum's lock, the
  blob is removed if no record (of any tenant) still points at it. An upload of the same bytes
  racing the delete either sees the blob and records it before the check, or places it again
  after the removal; it never ends up with a record and no blob.
"""

from __future__ import annotations

import time
from pathlib import Path

from assets.blobs import BlobDir, TempBlob
from assets.errors import AssetNotFound, StorageQuotaExceeded
from assets.index import AssetIndex, is_asset_id
from assets.names import check_asset_id
from assets.sniff import AssetKind
from assets.store import DEFAULT_MAX_BYTES, AssetInfo, AssetPage, AssetStore


class BlobAssetStore(AssetStore):
    def __init__(
        self, blobs: BlobDir, index: AssetIndex, *, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> None:
        self.blobs = blobs
        self.index = index
        self.max_bytes = max_bytes

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.blobs!r}, {self.index!r})"

    def close(self) -> None:
        self.index.close()

    # ------------------------------------------------------------------ writing

    def _temp(self) -> TempBlob:
        return self.blobs.temp()

    def _adopt(self, temp: TempBlob, info: AssetInfo) -> AssetInfo:
        with self.index.writing(info.sha256) as tx:
            if (
                self.quota_bytes is not None
                and tx.usage(info.tenant) + info.size > self.quota_bytes
            ):
                raise StorageQuotaExceeded(self.quota_bytes)
            stored = info.model_copy(update={"created_at": time.time()})
            tx.insert(stored)
            self.blobs.place(temp, info.sha256, info.size)
        self.blobs.maybe_sweep()
        return stored

    def delete(self, tenant: str, asset_id: str) -> None:
        check_asset_id(asset_id)
        sha256 = self.index.remove(tenant, asset_id)
        with self.index.writing(sha256) as tx:
            if not tx.references(sha256):
                self.blobs.remove(sha256)

    # ------------------------------------------------------------------ reading

    def get(self, tenant: str, asset_id: str) -> AssetInfo:
        if not is_asset_id(asset_id):
            raise AssetNotFound(f"asset {asset_id[:80]!r} not found")
        return self.index.get(tenant, asset_id)

    def find(self, tenant: str, name: str) -> AssetInfo:
        return self.index.find(tenant, name)

    def usage(self, tenant: str) -> int:
        return self.index.usage(tenant)

    def page(
        self, tenant: str, *, kind: AssetKind | None = None, offset: int = 0, limit: int = 50
    ) -> AssetPage:
        return self.index.page(tenant, kind=kind, offset=offset, limit=limit)

    def search(
        self, tenant: str, query: str, *, kind: AssetKind | None = None, limit: int = 50
    ) -> list[AssetInfo]:
        return self.index.search(tenant, query, kind=kind, limit=limit)

    def open_path(self, tenant: str, asset_id: str) -> tuple[Path, AssetInfo]:
        info = self.get(tenant, asset_id)
        try:
            return self.blobs.open_path(info.sha256), info
        except AssetNotFound:
            raise AssetNotFound(f"the content of asset {asset_id!r} is not available") from None
