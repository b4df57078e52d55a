"""Asset routes' bodies: one asset's metadata, pages and search results."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from assets import AssetKind


class AssetView(BaseModel):
    asset_id: str
    name: str
    kind: AssetKind
    mime: str
    format: str
    size: int = Field(description="Bytes.")
    sha256: str = Field(description="Checksum of the content; also its ETag.")
    created_at: float
    url: str = Field(description="Where the content downloads from.")
    meta: dict[str, Any] = Field(description="e.g. a glTF model's morph targets.")


class AssetList(BaseModel):
    items: list[AssetView]
    total: int
    offset: int
    limit: int
    next_offset: int | None = Field(description="Pass as offset for the next page.")


class SearchResult(BaseModel):
    query: str
    items: list[AssetView]
