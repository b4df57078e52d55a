"""The tenant's avatar presets (``catalog:<tenant>:presets``): a small, rarely written stream.

It only records changes: built-in presets live in code and the fold overlays what the stream
says (created, updated, deleted).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from events.avatar import Traits
from events.base import Event
from events.fold import Folder, State


class Preset(BaseModel):
    """A named set of traits that avatars can start from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    preset_id: str
    name: str = Field(min_length=1, max_length=100)
    description: str = Field("", max_length=1000)
    traits: Traits
    created_at: float | None = Field(None, description="When recorded (None: built into code).")
    updated_at: float | None = None


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


# ---------------------------------------------------------------------------- state


class PresetCatalogState(State):
    """What the preset stream changed: presets recorded in it, and ids it deleted.

    The catalog a client sees is the built-in presets minus ``deleted``, overlaid by ``presets``
    (see :func:`effective_presets`).
    """

    schema_version: ClassVar[int] = 1

    presets: dict[str, Preset] = Field(default_factory=dict)
    deleted: tuple[str, ...] = ()


def effective_presets(state: PresetCatalogState, builtins: dict[str, Preset]) -> dict[str, Preset]:
    """Built-ins not deleted, then the stream's presets over them, in id order."""
    merged = {k: v for k, v in builtins.items() if k not in state.deleted}
    merged.update(state.presets)
    return dict(sorted(merged.items()))


preset_folder: Folder[PresetCatalogState] = Folder(PresetCatalogState)


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
