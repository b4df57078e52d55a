"""The single-folder layout of one machine: ``<root>/blobs/ab/<sha256>``, ``<root>/index.sqlite``.

This is what ``make serve`` has always written under ``<data_dir>/assets``; a
:class:`LocalAssetStore` is the :class:`~assets.blobstore.BlobAssetStore` of that layout (a blob
directory and a SQLite index, both under ``root``).
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

from assets.blobs import BlobDir
from assets.blobstore import BlobAssetStore
from assets.sqlite_index import SqliteAssetIndex
from assets.store import DEFAULT_MAX_BYTES

_STALE_UPLOAD_S = 86_400.0


class LocalAssetStore(BlobAssetStore):
    def __init__(
        self,
        root: Path | str,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        busy_timeout: float = 30.0,
        blob_dir: Path | str | None = None,
    ) -> None:
        self.root = Path(root).resolve()
        super().__init__(
            BlobDir(self.root / "blobs" if blob_dir is None else Path(blob_dir)),
            SqliteAssetIndex(self.root / "index.sqlite", busy_timeout=busy_timeout),
            max_bytes=max_bytes,
        )
        sweep_legacy_uploads(self.root / "tmp")

    def blob_path(self, sha256: str) -> Path:
        return self.blobs.path_of(sha256)


def sweep_legacy_uploads(tmp: Path) -> None:
    """Before blobs had their own temporary folder, uploads were written to ``<root>/tmp/up-*``
    (unlocked): remove those of a process that died mid-upload (older than a day)."""
    cutoff = time.time() - _STALE_UPLOAD_S
    for path in tmp.glob("up-*"):
        with contextlib.suppress(OSError):
            if path.lstat().st_mtime < cutoff:
                path.unlink()
