"""Open an asset store: an index URL and a blob directory.

- ``/path/to/folder`` or ``file:///path/to/folder``: the single-folder layout of one machine,
  ``<folder>/blobs/ab/<sha256>`` and ``<folder>/index.sqlite`` (``blob_dir`` may move the blobs).
- ``sqlite:////abs/index.sqlite`` (``sqlite:///relative.sqlite``): a SQLite index at that file,
  blobs in ``blob_dir`` (required).
- ``postgresql://user:password@host/db`` (or ``postgres://``): a PostgreSQL index, tables of its
  own in that database, blobs in ``blob_dir`` (required; on a cluster, a directory every node
  mounts). Query parameters libpq does not know (a journal's options) are ignored.

The service decides which index it uses in one place:
``serve_app.settings.Settings.asset_index_url``.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from assets.blobs import BlobDir
from assets.blobstore import BlobAssetStore
from assets.local import LocalAssetStore, sweep_legacy_uploads
from assets.sqlite_index import SqliteAssetIndex
from assets.store import DEFAULT_MAX_BYTES, AssetStore


def open_asset_store(
    url: str | Path,
    *,
    blob_dir: str | Path | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> AssetStore:
    """The store that ``url`` (its index, or its folder) and ``blob_dir`` name. Raises
    ``ValueError`` for a URL it cannot use, :class:`~assets.errors.StorageFailure` when the
    index or the folder cannot be opened."""
    text = str(url)
    if "://" not in text:
        return LocalAssetStore(Path(text), max_bytes=max_bytes, blob_dir=blob_dir)
    scheme = urlsplit(text).scheme
    if scheme == "file":
        path = unquote(urlsplit(text).path)
        return LocalAssetStore(Path(path), max_bytes=max_bytes, blob_dir=blob_dir)
    if scheme not in ("sqlite", "postgres", "postgresql"):
        raise ValueError(
            f"unknown asset index URL scheme {scheme!r} "
            "(use a folder, file://, sqlite:/// or postgresql://)"
        )
    if blob_dir is None:
        raise ValueError(f"an asset index URL ({scheme}://) needs a blob directory (blob_dir)")
    blobs = BlobDir(Path(blob_dir))
    if scheme == "sqlite":
        path = text.split("?", 1)[0][len("sqlite:///") :]
        if not text.startswith("sqlite:///") or not path:
            raise ValueError("a SQLite asset index URL looks like sqlite:////abs/index.sqlite")
        index = Path(path)
        if blobs.root == (index.parent / "blobs").resolve():  # the single-folder layout
            sweep_legacy_uploads(index.parent / "tmp")
        return BlobAssetStore(blobs, SqliteAssetIndex(index), max_bytes=max_bytes)
    from assets.pg_index import PostgresAssetIndex  # noqa: PLC0415 - psycopg only when used

    return BlobAssetStore(blobs, PostgresAssetIndex(text), max_bytes=max_bytes)
