"""The asset store interface: content-addressed blobs (sha256) with metadata, per tenant.

An :class:`AssetStore` keeps each file once by checksum and any number of asset records
pointing at it (id, name, kind, MIME, size, sha256, created_at, tenant, format metadata).
Every call takes the tenant; a tenant never sees another's assets.

Uploads go through an :class:`Upload`: bytes are written to a temporary file as they arrive,
hashed on the way and counted against the limit (past it the file is removed and
:class:`~assets.errors.AssetTooLarge` raised); :meth:`Upload.commit` sniffs the head, checks it
against the declared type, reads model metadata (glTF/GLB) and hands the file to the store,
which places the blob and records it (``assets/blobstore.py``: a blob directory and an index).
"""

from __future__ import annotations

import hashlib
import uuid
from abc import ABC, abstractmethod
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from assets.errors import AssetTooLarge, InvalidAsset, StorageFailure, StorageQuotaExceeded
from assets.gltf import GltfError, model_info
from assets.names import sanitize_name
from assets.sniff import SNIFF_BYTES, AssetKind, base_type, resolve, sniff

if TYPE_CHECKING:
    from assets.blobs import TempBlob

DEFAULT_MAX_BYTES = 500 * 1024**2
_CHUNK = 1 << 20


class AssetInfo(BaseModel):
    """One asset record."""

    model_config = ConfigDict(frozen=True)

    asset_id: str
    tenant: str
    name: str
    kind: AssetKind
    mime: str
    format: str = Field(description="png, glb, mp4... or '' for a file of no known format.")
    size: int
    sha256: str
    created_at: float
    meta: dict[str, Any] = Field(default_factory=dict, description="e.g. a model's morph targets.")


class AssetPage(BaseModel):
    items: list[AssetInfo]
    total: int
    offset: int
    limit: int


def new_asset_id() -> str:
    return f"as-{uuid.uuid4().hex}"


class Upload:
    """A file being received: write chunks, then commit (or abort; leaving the ``with`` block
    without a commit aborts). Not thread-safe: one writer."""

    def __init__(
        self,
        store: AssetStore,
        tenant: str,
        temp: TempBlob,
        max_bytes: int,
        room: int | None = None,
    ) -> None:
        """``room``: what the tenant's quota leaves (``None``: no quota); checked on every
        write so an upload over it is refused early, and again when the record is written."""
        self.store = store
        self.tenant = tenant
        self.path = temp.path
        self.max_bytes = max_bytes
        self.room = room
        self.size = 0
        self._sha = hashlib.sha256()
        self._head = bytearray()
        self._temp = temp
        self._done = False

    def write(self, chunk: bytes | bytearray | memoryview) -> None:
        if self.size + len(chunk) > self.max_bytes:
            self.abort()
            raise AssetTooLarge(self.max_bytes)
        if self.room is not None and self.size + len(chunk) > self.room:
            self.abort()
            raise StorageQuotaExceeded(self.store.quota_bytes or 0)
        if len(self._head) < SNIFF_BYTES:
            self._head += chunk[: SNIFF_BYTES - len(self._head)]
        self._sha.update(chunk)
        try:
            self._temp.write(chunk)
        except OSError as e:
            self.abort()
            raise StorageFailure(f"cannot write the upload: {e}") from e
        self.size += len(chunk)

    @property
    def head(self) -> bytes:
        return bytes(self._head)

    def commit(
        self,
        *,
        name: str | None,
        kind: AssetKind | None = None,
        mime: str | None = None,
        strict: bool = True,
    ) -> AssetInfo:
        """Check and store the file.

        ``strict`` (uploads): the bytes must agree with ``mime`` and ``kind`` (415 otherwise)
        and models must parse (422). Internal writers (render outputs, speech audio) pass
        ``strict=False``: their ``kind`` and ``mime`` are taken as given.
        """
        try:
            self._temp.finish()  # on disk before any record points at it; still locked
            if strict:
                mime_, kind_, fmt = resolve(self.head, mime, kind)
            else:
                found = sniff(self.head)
                mime_ = base_type(mime) or (found.mime if found else "application/octet-stream")
                kind_ = kind or (found.kind if found else "other")
                fmt = found.name if found else ""
            meta: dict[str, Any] = {}
            if fmt in ("gltf", "glb") and kind_ in ("model", "animation"):
                try:
                    meta["model"] = model_info(self.path).to_json()
                except GltfError as e:
                    if strict:
                        raise InvalidAsset(f"not a usable glTF model: {e}") from e
            info = AssetInfo(
                asset_id=new_asset_id(),
                tenant=self.tenant,
                name=sanitize_name(name, default=f"asset.{fmt or 'bin'}"),
                kind=kind_,
                mime=mime_,
                format=fmt,
                size=self.size,
                sha256=self._sha.hexdigest(),
                created_at=0.0,  # set by the backend when the record is written
                meta=meta,
            )
            stored = self.store._adopt(self._temp, info)
        except BaseException:
            self.abort()
            raise
        self._done = True
        return stored

    def abort(self) -> None:
        if self._done:
            return
        self._done = True
        self._temp.discard()

    def __enter__(self) -> Upload:
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.abort()


class AssetStore(ABC):
    """Where assets live. Safe to share between threads and between OS processes."""

    max_bytes: int = DEFAULT_MAX_BYTES
    quota_bytes: int | None = None
    """The most one tenant may store (the sum of its assets' sizes); ``None``: no quota. A write
    that would go over is refused with :class:`~assets.errors.StorageQuotaExceeded`."""

    # ------------------------------------------------------------------ writing

    def begin(self, tenant: str, *, max_bytes: int | None = None) -> Upload:
        """Start receiving a file for ``tenant`` (at most ``max_bytes``, default the store's)."""
        limit = self.max_bytes if max_bytes is None else max_bytes
        room = None if self.quota_bytes is None else self.quota_bytes - self.usage(tenant)
        if room is not None and room < 0:
            raise StorageQuotaExceeded(self.quota_bytes or 0)
        return Upload(self, tenant, self._temp(), limit, room)

    def over_quota(self, tenant: str) -> bool:
        """Whether ``tenant`` already stores all its quota allows (checked before work whose
        output will be stored: a render job, a speak)."""
        return self.quota_bytes is not None and self.usage(tenant) >= self.quota_bytes

    def put_file(
        self,
        tenant: str,
        path: Path,
        *,
        name: str | None,
        kind: AssetKind | None = None,
        mime: str | None = None,
        strict: bool = True,
    ) -> AssetInfo:
        """Store a copy of the file at ``path`` (the caller keeps it)."""
        with self.begin(tenant) as up, Path(path).open("rb") as f:
            while chunk := f.read(_CHUNK):
                up.write(chunk)
            return up.commit(name=name, kind=kind, mime=mime, strict=strict)

    def put_bytes(
        self,
        tenant: str,
        data: bytes,
        *,
        name: str | None,
        kind: AssetKind | None = None,
        mime: str | None = None,
        strict: bool = True,
    ) -> AssetInfo:
        with self.begin(tenant) as up:
            up.write(data)
            return up.commit(name=name, kind=kind, mime=mime, strict=strict)

    @abstractmethod
    def _temp(self) -> TempBlob:
        """A new temporary file on the same disk as the blobs, locked by this process."""

    @abstractmethod
    def _adopt(self, temp: TempBlob, info: AssetInfo) -> AssetInfo:
        """Move the finished (fsynced) ``temp`` to its blob (or drop it if the blob exists) and
        record ``info``; returns the record as stored (``created_at`` set)."""

    # ------------------------------------------------------------------ reading

    @abstractmethod
    def get(self, tenant: str, asset_id: str) -> AssetInfo:
        """The record; :class:`~assets.errors.AssetNotFound` if ``tenant`` has no such asset."""

    @abstractmethod
    def find(self, tenant: str, name: str) -> AssetInfo:
        """The newest asset called ``name``; AssetNotFound if none."""

    @abstractmethod
    def usage(self, tenant: str) -> int:
        """The bytes ``tenant`` stores (the sum of its assets' sizes)."""

    @abstractmethod
    def page(
        self, tenant: str, *, kind: AssetKind | None = None, offset: int = 0, limit: int = 50
    ) -> AssetPage:
        """Newest first."""

    @abstractmethod
    def search(
        self, tenant: str, query: str, *, kind: AssetKind | None = None, limit: int = 50
    ) -> list[AssetInfo]:
        """Assets whose name (or format or MIME) contains ``query``, case-insensitively."""

    @abstractmethod
    def open_path(self, tenant: str, asset_id: str) -> tuple[Path, AssetInfo]:
        """The local file holding the asset's bytes, checked to be a regular file inside the
        store's root (a symlink pointing out is refused as not found)."""

    @abstractmethod
    def delete(self, tenant: str, asset_id: str) -> None:
        """Remove the record; the blob goes when no record points at it. AssetNotFound if none."""

    def close(self) -> None:  # noqa: B027 - optional for backends
        """Release connections."""
