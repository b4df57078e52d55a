"""The tenant's render configuration (``config:<tenant>:service``): what a render request gets
for the fields it omits, as a small stream of whole configurations."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from events.base import Event
from events.fold import Folder, State
from events.picture import MAX_FPS, MAX_SIZE, MIN_FPS, MIN_SIZE, Quality, Shading, split_resolution


class RenderConfig(BaseModel):
    """The service's render defaults: what a render request gets for the fields it omits."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    quality: Quality = Field("high", description="fast (no anti-aliasing) .. ultra (2x SSAA).")
    fps: int = Field(30, ge=MIN_FPS, le=MAX_FPS, description="Video frame rate, 30..60.")
    shading: Shading = "toon"
    width: int = Field(512, ge=MIN_SIZE, le=MAX_SIZE, description="Pixels, 64..4096.")
    height: int = Field(512, ge=MIN_SIZE, le=MAX_SIZE, description="Pixels, 64..4096.")
    antialiasing: bool = Field(True, description="Smooth edges (off draws hard pixel edges).")

    @model_validator(mode="before")
    @classmethod
    def _resolution(cls, data: Any) -> Any:
        return split_resolution(data)

    @property
    def resolution(self) -> str:
        return f"{self.width}x{self.height}"


# ---------------------------------------------------------------------------- event and state


class ConfigSet(Event):
    """The whole render configuration after a change."""

    type: Literal["ConfigSet"] = "ConfigSet"
    config: RenderConfig


class ConfigState(State):
    schema_version: ClassVar[int] = 1

    config: RenderConfig = RenderConfig()


config_folder: Folder[ConfigState] = Folder(ConfigState)


@config_folder.mutator(ConfigSet)
def _config(s: ConfigState, e: ConfigSet, at: float) -> dict[str, Any]:
    return {"config": e.config}
