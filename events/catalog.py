"""Tenant-wide catalog streams: avatar presets and the service's render configuration.

Both are small, rarely written streams (``catalog:<tenant>:presets``, ``config:<tenant>:service``)
folded like any other. The preset stream only records changes: built-in presets live in code
and the fold overlays what the stream says (created, updated, deleted).
"""

from __future__ import annotations

import typing
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from events.avatar import Traits, Voice, VoiceAttached, VoiceDetached
from events.base import Event
from events.fold import Folder, State

Quality = Literal["fast", "medium", "high", "ultra"]
Shading = Literal["flat", "toon", "pbr"]
QUALITIES: tuple[str, ...] = typing.get_args(Quality)
SHADINGS: tuple[str, ...] = typing.get_args(Shading)

# Picture bounds of the face rig (media.face.options uses these).
MIN_SIZE = 64
MAX_SIZE = 4096
MIN_FPS = 30
MAX_FPS = 60


def split_resolution(data: Any) -> Any:
    """A model's input with ``"resolution"`` (``"1280x720"``, ``[w, h]`` or one number for a
    square) turned into ``width`` and ``height``; explicit ones win."""
    if isinstance(data, dict) and "resolution" in data:
        data = dict(data)
        res = data.pop("resolution")
        if isinstance(res, str) and "x" in res.lower():
            res = res.lower().split("x", 1)
        elif isinstance(res, int | str) and not isinstance(res, bool):
            res = [res, res]
        if not (isinstance(res, list | tuple) and len(res) == 2):
            raise ValueError("resolution must be 'WIDTHxHEIGHT', [width, height] or a number")
        data.setdefault("width", res[0])
        data.setdefault("height", res[1])
    return data


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Preset(_Frozen):
    """A named set of traits that avatars can start from."""

    preset_id: str
    name: str = Field(min_length=1, max_length=100)
    description: str = Field("", max_length=1000)
    traits: Traits
    created_at: float | None = Field(None, description="When recorded (None: built into code).")
    updated_at: float | None = None


class RenderConfig(_Frozen):
    """The service's render defaults: what a render request gets for the fields it omits."""

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


# ---------------------------------------------------------------------------- events


class PresetCreated(Event):
    type: Literal["PresetCreated"] = "PresetCreated"
    preset_id: str
    name: str
    description: str = ""
    traits: Traits


class PresetUpdated(Event):
    """The preset's new name, description and traits (the whole of them, already merged)."""

    type: Literal["PresetUpdated"] = "PresetUpdated"
    preset_id: str
    name: str
    description: str = ""
    traits: Traits


class PresetDeleted(Event):
    type: Literal["PresetDeleted"] = "PresetDeleted"
    preset_id: str


class ConfigSet(Event):
    """The whole render configuration after a change."""

    type: Literal["ConfigSet"] = "ConfigSet"
    config: RenderConfig


# ---------------------------------------------------------------------------- states


class PresetCatalogState(State):
    """What the preset stream changed: presets recorded in it, and ids it deleted.

    The catalog a client sees is the built-in presets minus ``deleted``, overlaid by ``presets``
    (see :func:`effective_presets`).
    """

    schema_version: ClassVar[int] = 1

    presets: dict[str, Preset] = Field(default_factory=dict)
    deleted: tuple[str, ...] = ()


class ConfigState(State):
    schema_version: ClassVar[int] = 1

    config: RenderConfig = RenderConfig()


def effective_presets(state: PresetCatalogState, builtins: dict[str, Preset]) -> dict[str, Preset]:
    """Built-ins not deleted, then the stream's presets over them, in id order."""
    merged = {k: v for k, v in builtins.items() if k not in state.deleted}
    merged.update(state.presets)
    return dict(sorted(merged.items()))


preset_folder: Folder[PresetCatalogState] = Folder(PresetCatalogState)
config_folder: Folder[ConfigState] = Folder(ConfigState)


@preset_folder.mutator(PresetCreated)
def _created(s: PresetCatalogState, e: PresetCreated, at: float) -> dict[str, Any]:
    preset = Preset(
        preset_id=e.preset_id,
        name=e.name,
        description=e.description,
        traits=e.traits,
        created_at=at,
        updated_at=at,
    )
    return {
        "presets": {**s.presets, e.preset_id: preset},
        "deleted": tuple(d for d in s.deleted if d != e.preset_id),
    }


@preset_folder.mutator(PresetUpdated)
def _updated(s: PresetCatalogState, e: PresetUpdated, at: float) -> dict[str, Any]:
    old = s.presets.get(e.preset_id)
    preset = Preset(
        preset_id=e.preset_id,
        name=e.name,
        description=e.description,
        traits=e.traits,
        created_at=None if old is None else old.created_at,  # a built-in stays "from code"
        updated_at=at,
    )
    return {"presets": {**s.presets, e.preset_id: preset}}


@preset_folder.mutator(PresetDeleted)
def _deleted(s: PresetCatalogState, e: PresetDeleted, at: float) -> dict[str, Any]:
    presets = {k: v for k, v in s.presets.items() if k != e.preset_id}
    return {"presets": presets, "deleted": tuple(sorted({*s.deleted, e.preset_id}))}


@config_folder.mutator(ConfigSet)
def _config(s: ConfigState, e: ConfigSet, at: float) -> dict[str, Any]:
    return {"config": e.config}


# ---------------------------------------------------------------------------- default voice


class DefaultVoiceState(State):
    """The tenant's default voice (``voice:<tenant>:default``): VoiceAttached / VoiceDetached,
    the same events an avatar records for its own voice."""

    voice: Voice | None = None


default_voice_folder: Folder[DefaultVoiceState] = Folder(DefaultVoiceState)


@default_voice_folder.mutator(VoiceAttached)
def _default_voice_attached(s: DefaultVoiceState, e: VoiceAttached, at: float) -> dict[str, Any]:
    return {"voice": e.voice}


@default_voice_folder.mutator(VoiceDetached)
def _default_voice_detached(s: DefaultVoiceState, e: VoiceDetached, at: float) -> dict[str, Any]:
    return {"voice": None}
