"""Where rendered files go: the asset store, as image/video assets of the request's tenant.

:class:`AssetOutputs` adapts an :class:`~assets.AssetStore` to the small :class:`OutputStore`
shape the renderer (and speech) write through: each output gets an asset id, a sha256 and the
URL ``/api/v1/avatars/assets/{asset_id}/content``. ``/render/outputs/{id}`` stays as an alias of
that URL for older clients.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

from assets import AssetInfo, AssetKind, AssetNotFound, AssetStore, UnsafeName, open_asset_store
from serve_app.settings import Settings

PREFIX = "/api/v1/avatars"
DEFAULT_TENANT = "default"


@dataclass(frozen=True, slots=True)
class StoredOutput:
    asset_id: str
    url: str
    sha256: str
    size: int
    mime: str
    name: str
    kind: str

    def to_json(self) -> dict[str, object]:
        return asdict(self)


class OutputStore(Protocol):
    def put_file(self, path: Path, *, name: str, kind: str, mime: str) -> StoredOutput:
        """Store the file at ``path``; the caller may delete it afterwards."""
        ...

    def put_bytes(self, data: bytes, *, name: str, kind: str, mime: str) -> StoredOutput: ...

    def lookup(self, asset_id: str) -> tuple[Path, StoredOutput] | None:
        """The file and facts of a stored output (e.g. speech audio a replay reuses)."""
        ...


def content_url(asset_id: str) -> str:
    return f"{PREFIX}/assets/{asset_id}/content"


def stored_output(info: AssetInfo) -> StoredOutput:
    return StoredOutput(
        info.asset_id,
        content_url(info.asset_id),
        info.sha256,
        info.size,
        info.mime,
        info.name,
        info.kind,
    )


class AssetOutputs:
    """An :class:`OutputStore` writing into an asset store for one tenant.

    Outputs are ours, so their kind and type are taken as given (no sniffing verdicts).
    """

    def __init__(self, store: AssetStore, tenant: str = DEFAULT_TENANT) -> None:
        self.store = store
        self.tenant = tenant

    def put_file(self, path: Path, *, name: str, kind: str, mime: str) -> StoredOutput:
        info = self.store.put_file(
            self.tenant, path, name=name, kind=_kind(kind), mime=mime, strict=False
        )
        return stored_output(info)

    def put_bytes(self, data: bytes, *, name: str, kind: str, mime: str) -> StoredOutput:
        info = self.store.put_bytes(
            self.tenant, data, name=name, kind=_kind(kind), mime=mime, strict=False
        )
        return stored_output(info)

    def lookup(self, asset_id: str) -> tuple[Path, StoredOutput] | None:
        """The file and facts of an output; ``None`` when unknown or malformed."""
        try:
            path, info = self.store.open_path(self.tenant, asset_id)
        except (AssetNotFound, UnsafeName):
            return None
        return path, stored_output(info)


def _kind(kind: str) -> AssetKind:
    allowed: tuple[AssetKind, ...] = ("image", "video", "audio", "model", "texture", "animation")
    return next((k for k in allowed if k == kind), "other")


def shared_asset_store(settings: Settings) -> AssetStore:
    """The service's asset store (one instance per process and configuration): the index that
    :attr:`Settings.asset_index_url` names, blobs in :attr:`Settings.asset_blob_dir`. Uploads
    pass their own limit to :meth:`~assets.AssetStore.begin`; every write is held to the
    tenant's storage quota."""
    return _open_shared(
        settings.asset_index_url, settings.asset_blob_dir, settings.quota_storage_bytes
    )


@functools.cache
def _open_shared(index_url: str, blob_dir: Path, quota_bytes: int) -> AssetStore:
    store = open_asset_store(index_url, blob_dir=blob_dir)
    store.quota_bytes = quota_bytes
    return store


def open_output_store(settings: Settings, *, tenant: str = DEFAULT_TENANT) -> AssetOutputs:
    """Where renders (and speech audio) are stored: the service's asset store."""
    return AssetOutputs(shared_asset_store(settings), tenant)
