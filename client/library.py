"""Assets, models, presets and the render configuration."""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

from client.avatars import body, if_match
from client.transport import Transport
from serve_app.schemas import API_PREFIX
from serve_app.schemas.assets import AssetList, AssetView, SearchResult
from serve_app.schemas.catalog import (
    CustomizeRequest,
    CustomizeView,
    PresetCreate,
    PresetList,
    PresetPatch,
    PresetView,
)
from serve_app.schemas.config import ConfigUpdate, ConfigView
from serve_app.schemas.models import ModelList, SelectedModel, SelectModelRequest


class Assets:
    """``client.assets``: the tenant's files (content-addressed on the service)."""

    def __init__(self, transport: Transport) -> None:
        self._t = transport
        self._path = f"{API_PREFIX}/assets"

    async def upload(
        self,
        source: str | Path | bytes,
        *,
        name: str | None = None,
        kind: str | None = None,
        mime: str | None = None,
    ) -> AssetView:
        """Upload a file (a path) or bytes (then give ``name``); the type is guessed from the
        name unless ``mime`` is given, and the service checks it against the content."""
        if isinstance(source, bytes):
            if name is None:
                raise ValueError("name is required when uploading bytes")
            data = source
        else:
            path = Path(source)
            name = name or path.name
            data = path.read_bytes()
        mime = mime or mimetypes.guess_type(name)[0] or "application/octet-stream"
        reply = await self._t.request(
            "POST",
            f"{self._path}/upload",
            body=lambda: data,
            params={"name": name, "kind": kind},
            headers={"Content-Type": mime},
        )
        return AssetView.model_validate(reply.json())

    async def list(self, kind: str | None = None, offset: int = 0, limit: int = 50) -> AssetList:
        reply = await self._t.request(
            "GET", self._path, params={"kind": kind, "offset": offset, "limit": limit}
        )
        return AssetList.model_validate(reply.json())

    async def search(self, q: str, limit: int = 50) -> SearchResult:
        reply = await self._t.request(
            "GET", f"{self._path}/search", params={"q": q, "limit": limit}
        )
        return SearchResult.model_validate(reply.json())

    async def get(self, asset_id: str) -> AssetView:
        return AssetView.model_validate(
            (await self._t.request("GET", f"{self._path}/{asset_id}")).json()
        )

    async def download(self, asset_id: str, to: str | Path | None = None) -> bytes:
        reply = await self._t.request(
            "GET", f"{self._path}/{asset_id}/content", headers={"Accept": "*/*"}
        )
        if to is not None:
            Path(to).write_bytes(reply.body)
        return reply.body

    async def delete(self, asset_id: str) -> None:
        await self._t.request("DELETE", f"{self._path}/{asset_id}")


class Models:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    async def list(self) -> ModelList:
        reply = await self._t.request("GET", f"{API_PREFIX}/models")
        return ModelList.model_validate(reply.json())

    async def select(
        self, avatar_id: str, model_id: str, *, expected_version: int | None = None
    ) -> SelectedModel:
        req = SelectModelRequest(avatar_id=avatar_id, model_id=model_id)
        reply = await self._t.request(
            "POST",
            f"{API_PREFIX}/models/select",
            json_body=body(req),
            headers=if_match(expected_version),
        )
        return SelectedModel.model_validate(reply.json())


class Presets:
    def __init__(self, transport: Transport) -> None:
        self._t = transport
        self._path = f"{API_PREFIX}/presets"

    async def list(self) -> PresetList:
        return PresetList.model_validate((await self._t.request("GET", self._path)).json())

    async def get(self, preset_id: str) -> PresetView:
        reply = await self._t.request("GET", f"{self._path}/{preset_id}")
        return PresetView.model_validate(reply.json())

    async def create(self, preset_id: str, **fields: Any) -> PresetView:
        req = PresetCreate.model_validate({"preset_id": preset_id, **fields})
        reply = await self._t.request("POST", self._path, json_body=body(req))
        return PresetView.model_validate(reply.json())

    async def update(self, preset_id: str, **fields: Any) -> PresetView:
        req = PresetPatch.model_validate(fields)
        reply = await self._t.request("PATCH", f"{self._path}/{preset_id}", json_body=body(req))
        return PresetView.model_validate(reply.json())

    async def delete(self, preset_id: str) -> None:
        await self._t.request("DELETE", f"{self._path}/{preset_id}")

    async def customize(
        self,
        avatar_id: str | None = None,
        preset_id: str | None = None,
        traits: dict[str, Any] | None = None,
    ) -> CustomizeView:
        """Merge ``traits`` over a preset's (or the avatar's) and record it on ``avatar_id``;
        without an avatar, a preview only."""
        fields = {"avatar_id": avatar_id, "preset_id": preset_id, "traits": traits}
        req = CustomizeRequest.model_validate({k: v for k, v in fields.items() if v is not None})
        reply = await self._t.request("POST", f"{API_PREFIX}/customize", json_body=body(req))
        return CustomizeView.model_validate(reply.json())


class Config:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    async def get(self) -> ConfigView:
        return ConfigView.model_validate(
            (await self._t.request("GET", f"{API_PREFIX}/config")).json()
        )

    async def set(self, **fields: Any) -> ConfigView:
        """Change some fields (``quality``, ``fps``, ``shading``, ``resolution``...)."""
        req = ConfigUpdate.model_validate(fields)
        reply = await self._t.request("PUT", f"{API_PREFIX}/config", json_body=body(req))
        return ConfigView.model_validate(reply.json())
