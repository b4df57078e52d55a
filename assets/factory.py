"""Open an asset store by URL: ``file:///abs/path`` or a plain folder path (local backend).

Shared storage for clusters (an object store) would be another scheme and backend module.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

from assets.local import LocalAssetStore
from assets.store import DEFAULT_MAX_BYTES, AssetStore


def open_asset_store(url: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> AssetStore:
    text = str(url)
    if "://" not in text:
        return LocalAssetStore(Path(text), max_bytes=max_bytes)
    parsed = urlparse(text)
    if parsed.scheme == "file":
        return LocalAssetStore(Path(unquote(parsed.path)), max_bytes=max_bytes)
    raise ValueError(f"unknown asset store URL scheme {parsed.scheme!r} (use file:// or a path)")
