"""The render configuration's bodies (`GET`/`PUT /config`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from events.picture import MAX_FPS, MAX_SIZE, MIN_FPS, MIN_SIZE, Quality, Shading, split_resolution


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
