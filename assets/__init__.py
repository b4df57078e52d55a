"""Assets: a content-addressed store (sha256 blobs in a blob directory + records in an index,
SQLite or PostgreSQL, per tenant), safe names, MIME sniffing, glTF/GLB model metadata and the
catalog of built-in models.

Imports at most :mod:`events`; never Ray or the service.
"""

from assets.blobs import BlobDir
from assets.blobstore import BlobAssetStore
from assets.catalog import BUILTIN_MODELS, DEFAULT_MODEL, BuiltinModel, look_of
from assets.errors import (
    AssetError,
    AssetNotFound,
    AssetTooLarge,
    InvalidAsset,
    StorageFailure,
    StorageQuotaExceeded,
    UnsafeName,
    UnsupportedMedia,
)
from assets.factory import open_asset_store
from assets.index import AssetIndex
from assets.local import LocalAssetStore
from assets.names import ASSET_ID_PATTERN, check_download_name, sanitize_name
from assets.sniff import KINDS, AssetKind, sniff
from assets.sqlite_index import SqliteAssetIndex
from assets.store import DEFAULT_MAX_BYTES, AssetInfo, AssetPage, AssetStore, Upload

__all__ = [
    "ASSET_ID_PATTERN",
    "BUILTIN_MODELS",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MODEL",
    "KINDS",
    "AssetError",
    "AssetIndex",
    "AssetInfo",
    "AssetKind",
    "AssetNotFound",
    "AssetPage",
    "AssetStore",
    "AssetTooLarge",
    "BlobAssetStore",
    "BlobDir",
    "BuiltinModel",
    "InvalidAsset",
    "LocalAssetStore",
    "SqliteAssetIndex",
    "StorageFailure",
    "StorageQuotaExceeded",
    "UnsafeName",
    "UnsupportedMedia",
    "Upload",
    "check_download_name",
    "look_of",
    "open_asset_store",
    "sanitize_name",
    "sniff",
]
