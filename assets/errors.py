"""The error tree of the asset store.

::

    AssetError
    ├── UnsafeName          a name or id that could reach outside the asset root (400)
    ├── AssetNotFound       no such asset for this tenant (404)
    ├── AssetTooLarge       over the upload limit; nothing was kept (413)
    ├── StorageQuotaExceeded  the tenant's stored bytes would go over its quota (507)
    ├── UnsupportedMedia    the bytes are not what the declared type says (415)
    ├── InvalidAsset        the bytes are of the right type but unusable, e.g. a broken glTF (422)
    └── StorageFailure      the disk or the index failed (500, retryable)

Each has a stable ``code``; the edge maps codes to HTTP statuses in one table
(``serve_app.errors.STATUS_BY_CODE``); backends
translate OS and sqlite3 errors into them at the boundary.
"""

from __future__ import annotations


class AssetError(Exception):
    """Base class of every error raised by :mod:`assets`."""

    code = "asset_error"


class UnsafeName(AssetError):
    code = "unsafe_name"


class AssetNotFound(AssetError):
    code = "asset_not_found"


class AssetTooLarge(AssetError):
    code = "too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(f"the upload is larger than the limit of {limit} bytes")
        self.limit = limit


class StorageQuotaExceeded(AssetError):
    code = "storage_quota"

    def __init__(self, quota: int) -> None:
        super().__init__(
            f"storing this would take the tenant over its storage quota of {quota} bytes; "
            "delete assets to make room"
        )
        self.quota = quota


class UnsupportedMedia(AssetError):
    code = "unsupported_media_type"


class InvalidAsset(AssetError):
    code = "invalid_asset"


class StorageFailure(AssetError):
    code = "storage_error"
    retryable = True
