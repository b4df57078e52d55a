"""The service's render configuration: ``GET``/``PUT /config``, kept as events.

The render routes use it for every field a request omits (size, shading, quality,
anti-aliasing, fps). ``PUT`` takes any subset of the fields; the others keep their values.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from events.catalog import (
    MAX_FPS,
    MAX_SIZE,
    MIN_FPS,
    MIN_SIZE,
    ConfigState,
    Quality,
    Shading,
    split_resolution,
)
from serve_app.catalog import catalogs
from serve_app.http import set_version
from serve_app.routes.deps import GatewayDep

router = APIRouter(tags=["config"])


class ConfigUpdate(BaseModel):
    """Fields to change; ``resolution`` ("1280x720", [w, h] or one number) sets both sizes."""

    model_config = ConfigDict(extra="forbid")

    quality: Quality | None = Field(None, description="fast | medium | high | ultra.")
    fps: int | None = Field(None, ge=MIN_FPS, le=MAX_FPS, description="30..60.")
    shading: Shading | None = Field(None, description="flat | toon | pbr.")
    width: int | None = Field(None, ge=MIN_SIZE, le=MAX_SIZE, description="64..4096 pixels.")
    height: int | None = Field(None, ge=MIN_SIZE, le=MAX_SIZE, description="64..4096 pixels.")
    antialiasing: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _resolution(cls, data: object) -> object:
        return split_resolution(data)


class ConfigView(BaseModel):
    quality: Quality
    fps: int
    shading: Shading
    width: int
    height: int
    resolution: str = Field(description="WIDTHxHEIGHT.")
    antialiasing: bool
    version: int = Field(description="Version of the configuration stream (0: never set).")
    updated_at: float | None = None


def _view(state: ConfigState, response: Response) -> ConfigView:
    set_version(response, state.version)
    c = state.config
    return ConfigView(
        **c.model_dump(),
        resolution=c.resolution,
        version=state.version,
        updated_at=state.updated_at,
    )


@router.get("/config", response_model=ConfigView, summary="The render configuration")
async def get_config(gw: GatewayDep, response: Response) -> ConfigView:
    return _view(await asyncio.to_thread(catalogs(gw).config.get), response)


@router.put(
    "/config",
    response_model=ConfigView,
    summary="Change the render configuration (fields omitted keep their values)",
)
async def put_config(body: ConfigUpdate, gw: GatewayDep, response: Response) -> ConfigView:
    changes = body.model_dump(exclude_none=True)
    return _view(await asyncio.to_thread(catalogs(gw).config.update, changes), response)
